// The one way an element reads the time of its pipeline clock: the clock's time, or
// GST_CLOCK_TIME_NONE while the element has no clock (not in a pipeline, or stopped).
#pragma once

#include <gst/gst.h>

namespace rtcoinfer {

inline GstClockTime element_clock_time(GstElement *element) {
  GstClock *clock = gst_element_get_clock(element);
  if (!clock) return GST_CLOCK_TIME_NONE;
  const GstClockTime now = gst_clock_get_time(clock);
  gst_object_unref(clock);
  return now;
}

}  // namespace rtcoinfer
