// GstBaseTransform's generate_output for an element that makes at most one output of its
// own size per input (a result line, a coded frame, a decoded image): the place the base
// class intends for output that is not a transform of the input's size, written once.
#pragma once

#include <gst/base/gstbasetransform.h>

namespace rtcoinfer {

// Takes the queued input, lets `make(inbuf, outbuf)` fill *outbuf (or leave it null when
// the input is dropped; GST_BASE_TRANSFORM_FLOW_DROPPED means the same), and releases the
// input. An error discards any output.
template <typename Make>
GstFlowReturn one_output_per_input(GstBaseTransform *trans, GstBuffer **outbuf, Make make) {
  GstBuffer *inbuf = trans->queued_buf;
  trans->queued_buf = nullptr;
  *outbuf = nullptr;
  if (!inbuf) return GST_FLOW_OK;
  const GstFlowReturn ret = make(inbuf, outbuf);
  gst_buffer_unref(inbuf);
  if (ret != GST_FLOW_OK && *outbuf) gst_buffer_replace(outbuf, nullptr);
  return ret == GST_BASE_TRANSFORM_FLOW_DROPPED ? GST_FLOW_OK : ret;
}

}  // namespace rtcoinfer
