// The one policy grammar (gst/control/policy_spec.h): every form, and a one-line error
// naming the grammar for each wrong one.
#include <gst/check/gstcheck.h>

#include <stdexcept>
#include <string>

#include "control/policy_spec.h"

using rtcoinfer::parse_policy;
using rtcoinfer::parse_policy_list;
using K = rtcoinfer::PolicySpec::Kind;

GST_START_TEST(test_every_form_parses) {
  fail_unless(parse_policy("mpc").kind == K::Mpc && parse_policy("rate").kind == K::Rate);
  fail_unless(parse_policy("none").kind == K::None && parse_policy("oracle").kind == K::Oracle);
  fail_unless(parse_policy("local").kind == K::Local);
  fail_unless(parse_policy("fixed").kind == K::Fixed && parse_policy("fixed").setup.empty());
  fail_unless(parse_policy("fixed:4x2").setup == "4x2" && parse_policy("fixed:all").setup == "all");
  auto png = parse_policy("offload:png");
  fail_unless(png.kind == K::Offload && png.codec == "png" && png.codec_name() == "png");
  auto jpeg = parse_policy("offload:jpeg");
  fail_unless(jpeg.quality == 85 && jpeg.codec_name() == "jpeg:85");
  fail_unless(parse_policy("offload:jpeg:50").codec_name() == "jpeg:50");
  fail_unless(parse_policy("clio:4").kind == K::Clio && parse_policy("clio:4").bits == 4);
  auto spinn = parse_policy("spinn:0.9:2x4");
  fail_unless(spinn.kind == K::Spinn && spinn.threshold == 0.9 && spinn.setup == "2x4");
  fail_unless(parse_policy("spinn:0.8").setup.empty());
}
GST_END_TEST;

GST_START_TEST(test_a_list_parses_in_order) {
  auto list = parse_policy_list("mpc,,rate,spinn:0.9:1x2");
  fail_unless_equals_int(list.size(), 3);
  fail_unless(list[0].kind == K::Mpc && list[2].kind == K::Spinn);
}
GST_END_TEST;

GST_START_TEST(test_wrong_policies_are_one_line_errors) {
  for (const char *bad : {"foo",         "mpc:1",         "fixed:4",        "fixed:x2",         "offload",
                          "offload:gif", "offload:png:3", "offload:jpeg:0", "offload:jpeg:101", "offload:jpeg:5x",
                          "clio",        "clio:0",        "clio:17",        "clio:4b",          "spinn",
                          "spinn:",      "spinn:1.5",     "spinn:-0.1",     "spinn:0.9:2",      "spinn:0.9x"}) {
    bool threw = false;
    try {
      parse_policy(bad);
    } catch (const std::invalid_argument &e) {
      threw = true;
      const std::string msg = e.what();
      fail_unless(msg.find(bad) != std::string::npos && msg.find("spinn:T[:CxB]") != std::string::npos &&
                      msg.find('\n') == std::string::npos,
                  "%s", msg.c_str());
    }
    fail_unless(threw, "'%s' was accepted", bad);
  }
}
GST_END_TEST;

static Suite *policy_suite(void) {
  Suite *s = suite_create("policy");
  TCase *tc = tcase_create("general");
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_every_form_parses);
  tcase_add_test(tc, test_a_list_parses_in_order);
  tcase_add_test(tc, test_wrong_policies_are_one_line_errors);
  return s;
}

GST_CHECK_MAIN(policy);
