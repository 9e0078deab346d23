// The rtcoinfer-setup event: an upstream custom event asking every element that
// computes or codes features (rtcoinfer-compress, rtcoinfer-head) to use a setup from
// its next buffer on. rtcoinfer-mpcrate sends it; applications may send it too.
//
// Structure: rtcoinfer-setup, channels=(int)k, bits=(int)b, setup=(string)"kxb".
#pragma once

#include <gst/gst.h>

#include <optional>

#include "wire/setup_table.h"

namespace rtcoinfer {

constexpr const char *kSetupEventName = "rtcoinfer-setup";

GstEvent *setup_event_new(const Setup &setup);
// nullopt when the event is not an rtcoinfer-setup event or its fields are invalid.
std::optional<Setup> setup_event_parse(GstEvent *event);

}  // namespace rtcoinfer
