#include "features_meta.h"

#include <cstdio>
#include <cstdlib>
#include <string>

GType gst_rtcoinfer_features_meta_api_get_type(void) {
  static GType type = 0;
  static const gchar *tags[] = {nullptr};
  if (g_once_init_enter(&type)) {
    GType t = gst_meta_api_type_register("GstRtcoinferFeaturesMetaAPI", tags);
    g_once_init_leave(&type, t);
  }
  return type;
}

static gboolean features_meta_init(GstMeta *meta, gpointer, GstBuffer *) {
  auto *m = reinterpret_cast<GstRtcoinferFeaturesMeta *>(meta);
  m->channels = 0;
  m->bits = 0;
  m->setup_index = -1;
  m->seq = 0;
  m->capture_us = 0;
  m->truth = -1;
  return TRUE;
}

static gboolean features_meta_transform(GstBuffer *dest, GstMeta *meta, GstBuffer *,
                                        GQuark type, gpointer) {
  if (!GST_META_TRANSFORM_IS_COPY(type)) return FALSE;
  auto *src = reinterpret_cast<GstRtcoinferFeaturesMeta *>(meta);
  GstRtcoinferFeaturesMeta *d = gst_buffer_add_rtcoinfer_features_meta(dest);
  if (!d) return FALSE;
  d->channels = src->channels;
  d->bits = src->bits;
  d->setup_index = src->setup_index;
  d->seq = src->seq;
  d->capture_us = src->capture_us;
  d->truth = src->truth;
  return TRUE;
}

const GstMetaInfo *gst_rtcoinfer_features_meta_get_info(void) {
  static const GstMetaInfo *info = nullptr;
  if (g_once_init_enter(&info)) {
    const GstMetaInfo *mi = gst_meta_register(
        GST_RTCOINFER_FEATURES_META_API_TYPE, "GstRtcoinferFeaturesMeta",
        sizeof(GstRtcoinferFeaturesMeta), features_meta_init, nullptr, features_meta_transform);
    g_once_init_leave(&info, mi);
  }
  return info;
}

GstRtcoinferFeaturesMeta *gst_buffer_add_rtcoinfer_features_meta(GstBuffer *buffer) {
  return reinterpret_cast<GstRtcoinferFeaturesMeta *>(
      gst_buffer_add_meta(buffer, gst_rtcoinfer_features_meta_get_info(), nullptr));
}

namespace rtcoinfer {

std::string model_id_to_string(std::uint32_t id) {
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", id);
  return buf;
}

std::optional<std::uint32_t> model_id_from_string(const char *text) {
  if (!text) return std::nullopt;
  std::string s(text);
  if (s.size() != 8 || s.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
    return std::nullopt;
  return static_cast<std::uint32_t>(std::strtoul(s.c_str(), nullptr, 16));
}

std::optional<FeaturesFormat> features_format_from_caps(const GstCaps *caps) {
  if (!caps || gst_caps_get_size(caps) != 1) return std::nullopt;
  const GstStructure *s = gst_caps_get_structure(caps, 0);
  if (!gst_structure_has_name(s, RTCOINFER_FEATURES_CAPS_NAME)) return std::nullopt;
  FeaturesFormat f;
  if (!gst_structure_get_int(s, "channels", &f.channels) ||
      !gst_structure_get_int(s, "height", &f.height) ||
      !gst_structure_get_int(s, "width", &f.width))
    return std::nullopt;
  auto id = model_id_from_string(gst_structure_get_string(s, "model-id"));
  if (!id) return std::nullopt;
  f.model_id = *id;
  return f;
}

GstCaps *features_caps_new(const FeaturesFormat &f) {
  return gst_caps_new_simple(RTCOINFER_FEATURES_CAPS_NAME, "channels", G_TYPE_INT, f.channels,
                             "height", G_TYPE_INT, f.height, "width", G_TYPE_INT, f.width,
                             "model-id", G_TYPE_STRING, model_id_to_string(f.model_id).c_str(),
                             nullptr);
}

std::uint64_t realtime_us() { return static_cast<std::uint64_t>(g_get_real_time()); }

}  // namespace rtcoinfer
