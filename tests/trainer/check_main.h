// main() for the trainer's gst-check suites. meson runs one case per process (GST_CHECKS
// names it), so a run that matched no case - a misspelt or renamed test - must fail
// instead of passing with "Checks: 0".
#pragma once

#include <gst/check/gstcheck.h>

#define RTCOINFER_CHECK_MAIN(name)                                                            \
  int main(int argc, char **argv) {                                                           \
    gst_check_init(&argc, &argv);                                                             \
    SRunner *sr = srunner_create(name##_suite());                                             \
    srunner_run_all(sr, CK_NORMAL);                                                           \
    const int ran = srunner_ntests_run(sr), failed = srunner_ntests_failed(sr);               \
    srunner_free(sr);                                                                         \
    if (ran == 0) g_printerr("no test case matched GST_CHECKS=%s\n", g_getenv("GST_CHECKS")); \
    return ran > 0 && failed == 0 ? 0 : 1;                                                    \
  }
