// The cluster table from summed gradient similarities: DBSCAN with eps searched for the
// wanted count (the paper's method) and the equal-size split (`cluster --balanced`).
#include <algorithm>
#include <utility>
#include <vector>

#include "training.h"
#include "check_main.h"

using namespace rtcoinfer::train;

namespace {

// Setup index i has similarity values[i].
std::vector<std::pair<int, double>> similarities(const std::vector<double> &values) {
  std::vector<std::pair<int, double>> sim;
  for (std::size_t i = 0; i < values.size(); ++i) sim.emplace_back(int(i), values[i]);
  return sim;
}

// 37 setups close together, one alone at the top and two near it: the shape of our
// measured sums, where DBSCAN's K-1 widest gaps are all at the top.
std::vector<double> skewed() {
  std::vector<double> v;
  for (int i = 0; i < 37; ++i) v.push_back(-0.5 + 0.03 * i);
  v.push_back(10.0);
  v.push_back(4.0);
  v.push_back(4.2);
  return v;
}

}  // namespace

GST_START_TEST(test_dbscan_splits_at_the_widest_gaps) {
  const ClusterTable t = cluster_by_similarity(similarities(skewed()), 3);
  fail_unless_equals_int(int(t.clusters.size()), 3);
  fail_unless(t.method == "dbscan");
  std::vector<std::size_t> sizes;
  for (const auto &c : t.clusters) sizes.push_back(c.size());
  std::sort(sizes.begin(), sizes.end());
  fail_unless(sizes == (std::vector<std::size_t>{1, 2, 37}), "sizes %zu %zu %zu", sizes[0], sizes[1], sizes[2]);
}
GST_END_TEST;

GST_START_TEST(test_balanced_clusters_are_equal_runs_in_similarity_order) {
  const ClusterTable t = balanced_by_similarity(similarities(skewed()), 3);
  fail_unless(t.method == "balanced");
  fail_unless_equals_int(int(t.clusters.size()), 3);
  std::size_t total = 0;
  for (const auto &c : t.clusters) {
    fail_unless(c.size() == 13 || c.size() == 14, "cluster of %zu", c.size());
    total += c.size();
  }
  fail_unless_equals_int(int(total), 40);
  // runs in similarity order: every member of one cluster is below every member of the next
  auto sorted = t.clusters;
  const auto v = skewed();
  std::sort(sorted.begin(), sorted.end(), [&](const auto &a, const auto &b) { return v[a[0]] < v[b[0]]; });
  for (std::size_t c = 1; c < sorted.size(); ++c) {
    double below = -1e9, above = 1e9;
    for (int i : sorted[c - 1]) below = std::max(below, v[std::size_t(i)]);
    for (int i : sorted[c]) above = std::min(above, v[std::size_t(i)]);
    fail_unless(below < above, "cluster %zu overlaps the next", c - 1);
  }
  // more clusters than setups: one setup each
  fail_unless_equals_int(int(balanced_by_similarity(similarities({1, 2}), 3).clusters.size()), 2);
}
GST_END_TEST;

static Suite *clustering_suite(void) {
  Suite *s = suite_create("clustering");
  TCase *tc = tcase_create("general");
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_dbscan_splits_at_the_widest_gaps);
  tcase_add_test(tc, test_balanced_clusters_are_equal_runs_in_similarity_order);
  return s;
}

RTCOINFER_CHECK_MAIN(clustering)
