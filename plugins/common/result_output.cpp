#include "result_output.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "contract/rtcoinfer_meta.h"

namespace rtcoinfer {

Result classify(const std::vector<float> &logits, const BundleInfo &info, int top_k, const FrameFacts &facts,
                GstClockTime pts) {
  const float mx = *std::max_element(logits.begin(), logits.end());
  std::vector<double> prob(logits.size());
  double sum = 0;
  for (std::size_t i = 0; i < logits.size(); ++i) sum += prob[i] = std::exp(double(logits[i] - mx));
  for (auto &p : prob) p /= sum;
  std::vector<int> order(prob.size());
  std::iota(order.begin(), order.end(), 0);
  const int k = std::min<int>(top_k, int(order.size()));
  std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int a, int b) { return prob[a] > prob[b]; });
  auto label_of = [&](int c) { return c < int(info.labels.size()) ? info.labels[c] : std::to_string(c); };

  Result r;
  r.best = order[0];
  r.score = prob[r.best];
  nlohmann::json &j = r.json;
  j["seq"] = facts.seq;
  j["pts"] = GST_CLOCK_TIME_IS_VALID(pts) ? nlohmann::json(pts) : nlohmann::json(nullptr);
  j["setup"] = facts.setup;
  j["channels"] = facts.channels;
  j["bits"] = facts.bits;
  j["bytes"] = facts.bytes;
  j["class"] = r.best;
  j["label"] = label_of(r.best);
  j["score"] = r.score;
  nlohmann::json top = nlohmann::json::array();
  for (int i = 0; i < k; ++i)
    top.push_back({{"class", order[i]}, {"label", label_of(order[i])}, {"score", prob[order[i]]}});
  j["top_k"] = top;
  if (facts.truth) {
    j["truth"] = *facts.truth;
    j["correct"] = *facts.truth == r.best;
  }
  j["latency_ms"] = facts.latency_ms;
  return r;
}

void post_result(GstElement *element, const Result &result, const FrameFacts &facts) {
  const std::string label = result.json["label"].get<std::string>();
  GstStructure *msg = gst_structure_new(
      "rtcoinfer-result", "seq", G_TYPE_UINT64, facts.seq, "setup", G_TYPE_STRING, facts.setup.c_str(), "channels",
      G_TYPE_INT, facts.channels, "bits", G_TYPE_INT, facts.bits, "bytes", G_TYPE_UINT64, facts.bytes, "class",
      G_TYPE_INT, result.best, "label", G_TYPE_STRING, label.c_str(), "score", G_TYPE_DOUBLE, result.score, "truth",
      G_TYPE_INT, facts.truth ? *facts.truth : -1, "latency-ms", G_TYPE_DOUBLE, facts.latency_ms, "json", G_TYPE_STRING,
      result.json.dump().c_str(), nullptr);
  gst_element_post_message(element, gst_message_new_element(GST_OBJECT(element), msg));
}

ResultEvent result_event(const Result &result, const FrameFacts &facts) {
  ResultEvent event;
  event.seq = facts.seq;
  event.setup = facts.setup;
  event.bytes = facts.bytes;
  event.latency_ms = facts.latency_ms;
  event.truth = facts.truth ? *facts.truth : -1;
  event.correct = facts.truth && *facts.truth == result.best;
  event.json = result.json.dump();
  return event;
}

GstBuffer *emit_result(GstElement *element, const Result &result, const FrameFacts &facts, GstBuffer *inbuf) {
  post_result(element, result, facts);
  const std::string line = result.json.dump() + "\n";
  GstBuffer *out = gst_buffer_new_memdup(line.data(), line.size());
  if (inbuf)
    gst_buffer_copy_into(out, inbuf, GstBufferCopyFlags(GST_BUFFER_COPY_FLAGS | GST_BUFFER_COPY_TIMESTAMPS), 0, -1);
  GstRtcoinferResultMeta *meta = gst_buffer_add_rtcoinfer_result_meta(out);
  meta->seq = facts.seq;
  meta->class_index = result.best;
  meta->score = float(result.score);
  meta->truth = facts.truth ? *facts.truth : -1;
  meta->channels = facts.channels;
  meta->bits = facts.bits;
  meta->latency_ms = facts.latency_ms;
  return out;
}

}  // namespace rtcoinfer
