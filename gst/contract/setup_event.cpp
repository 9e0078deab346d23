#include "setup_event.h"

namespace rtcoinfer {

GstEvent *setup_event_new(const Setup &setup) {
  GstStructure *s = gst_structure_new(kSetupEventName, "channels", G_TYPE_INT, setup.channels,
                                      "bits", G_TYPE_INT, setup.bits, "setup", G_TYPE_STRING,
                                      setup.name().c_str(), nullptr);
  return gst_event_new_custom(GST_EVENT_CUSTOM_UPSTREAM, s);
}

std::optional<Setup> setup_event_parse(GstEvent *event) {
  if (!event || GST_EVENT_TYPE(event) != GST_EVENT_CUSTOM_UPSTREAM) return std::nullopt;
  const GstStructure *s = gst_event_get_structure(event);
  if (!s || !gst_structure_has_name(s, kSetupEventName)) return std::nullopt;
  Setup setup;
  if (!gst_structure_get_int(s, "channels", &setup.channels) ||
      !gst_structure_get_int(s, "bits", &setup.bits))
    return std::nullopt;
  if (setup.channels < 1 || setup.channels > 256 || setup.bits < 1 || setup.bits > 16)
    return std::nullopt;
  return setup;
}

}  // namespace rtcoinfer
