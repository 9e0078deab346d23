#include "rtcoinfer_meta.h"

#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <string>

// All the metas are plain data after the GstMeta header: one template registers
// each, copies its payload on copy transforms and resets it on init.
namespace {

template <typename M>
struct PodMeta {
  static GType api_type(const char *api_name) {
    static GType type = 0;
    static const gchar *tags[] = {nullptr};
    if (g_once_init_enter(&type)) g_once_init_leave(&type, gst_meta_api_type_register(api_name, tags));
    return type;
  }
  static const GstMetaInfo *info(GType api, const char *impl_name, void (*reset)(M *)) {
    static const GstMetaInfo *mi = nullptr;
    static void (*reset_fn)(M *) = nullptr;
    if (g_once_init_enter(&mi)) {
      reset_fn = reset;
      auto init = [](GstMeta *m, gpointer, GstBuffer *) -> gboolean {
        reset_fn(reinterpret_cast<M *>(m));
        return TRUE;
      };
      auto transform = [](GstBuffer *dest, GstMeta *meta, GstBuffer *, GQuark type, gpointer) -> gboolean {
        if (!GST_META_TRANSFORM_IS_COPY(type)) return FALSE;
        auto *d = reinterpret_cast<M *>(gst_buffer_add_meta(dest, meta->info, nullptr));
        if (!d) return FALSE;
        std::memcpy(reinterpret_cast<char *>(d) + sizeof(GstMeta),
                    reinterpret_cast<const char *>(meta) + sizeof(GstMeta), sizeof(M) - sizeof(GstMeta));
        return TRUE;
      };
      g_once_init_leave(&mi, gst_meta_register(api, impl_name, sizeof(M), init, nullptr, transform));
    }
    return mi;
  }
};

void reset_features(GstRtcoinferFeaturesMeta *m) {
  m->channels = m->bits = 0;
  m->setup_index = -1;
  m->seq = m->capture_us = 0;
  m->truth = -1;
}
void reset_truth(GstRtcoinferTruthMeta *m) {
  m->label = -1;
  m->index = 0;
}
void reset_result(GstRtcoinferResultMeta *m) {
  m->seq = 0;
  m->class_index = m->truth = -1;
  m->score = 0;
  m->channels = m->bits = 0;
  m->latency_ms = 0;
}

void reset_origin(GstRtcoinferOriginMeta *m) {
  m->seq = 0;
  m->capture_us = 0;
  m->truth = -1;
  m->bytes = 0;
  std::memset(m->codec, 0, sizeof m->codec);
}

}  // namespace

GType gst_rtcoinfer_origin_meta_api_get_type(void) {
  return PodMeta<GstRtcoinferOriginMeta>::api_type("GstRtcoinferOriginMetaAPI");
}
GstRtcoinferOriginMeta *gst_buffer_add_rtcoinfer_origin_meta(GstBuffer *buffer) {
  const GstMetaInfo *info =
      PodMeta<GstRtcoinferOriginMeta>::info(GST_RTCOINFER_ORIGIN_META_API_TYPE, "GstRtcoinferOriginMeta", reset_origin);
  return reinterpret_cast<GstRtcoinferOriginMeta *>(gst_buffer_add_meta(buffer, info, nullptr));
}

GType gst_rtcoinfer_features_meta_api_get_type(void) {
  return PodMeta<GstRtcoinferFeaturesMeta>::api_type("GstRtcoinferFeaturesMetaAPI");
}
const GstMetaInfo *gst_rtcoinfer_features_meta_get_info(void) {
  return PodMeta<GstRtcoinferFeaturesMeta>::info(GST_RTCOINFER_FEATURES_META_API_TYPE, "GstRtcoinferFeaturesMeta",
                                                 reset_features);
}
GstRtcoinferFeaturesMeta *gst_buffer_add_rtcoinfer_features_meta(GstBuffer *buffer) {
  return reinterpret_cast<GstRtcoinferFeaturesMeta *>(
      gst_buffer_add_meta(buffer, gst_rtcoinfer_features_meta_get_info(), nullptr));
}

GType gst_rtcoinfer_truth_meta_api_get_type(void) {
  return PodMeta<GstRtcoinferTruthMeta>::api_type("GstRtcoinferTruthMetaAPI");
}
GstRtcoinferTruthMeta *gst_buffer_add_rtcoinfer_truth_meta(GstBuffer *buffer) {
  const GstMetaInfo *info =
      PodMeta<GstRtcoinferTruthMeta>::info(GST_RTCOINFER_TRUTH_META_API_TYPE, "GstRtcoinferTruthMeta", reset_truth);
  return reinterpret_cast<GstRtcoinferTruthMeta *>(gst_buffer_add_meta(buffer, info, nullptr));
}

GType gst_rtcoinfer_result_meta_api_get_type(void) {
  return PodMeta<GstRtcoinferResultMeta>::api_type("GstRtcoinferResultMetaAPI");
}
GstRtcoinferResultMeta *gst_buffer_add_rtcoinfer_result_meta(GstBuffer *buffer) {
  const GstMetaInfo *info =
      PodMeta<GstRtcoinferResultMeta>::info(GST_RTCOINFER_RESULT_META_API_TYPE, "GstRtcoinferResultMeta", reset_result);
  return reinterpret_cast<GstRtcoinferResultMeta *>(gst_buffer_add_meta(buffer, info, nullptr));
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
  if (s.size() != 8 || s.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) return std::nullopt;
  return static_cast<std::uint32_t>(std::strtoul(s.c_str(), nullptr, 16));
}

std::optional<FeaturesFormat> features_format_from_caps(const GstCaps *caps) {
  if (!caps || gst_caps_get_size(caps) != 1) return std::nullopt;
  const GstStructure *s = gst_caps_get_structure(caps, 0);
  if (!gst_structure_has_name(s, RTCOINFER_FEATURES_CAPS_NAME)) return std::nullopt;
  FeaturesFormat f;
  if (!gst_structure_get_int(s, "channels", &f.channels) || !gst_structure_get_int(s, "height", &f.height) ||
      !gst_structure_get_int(s, "width", &f.width))
    return std::nullopt;
  auto id = model_id_from_string(gst_structure_get_string(s, "model-id"));
  if (!id) return std::nullopt;
  f.model_id = *id;
  return f;
}

GstCaps *features_caps_new(const FeaturesFormat &f) {
  return gst_caps_new_simple(RTCOINFER_FEATURES_CAPS_NAME, "channels", G_TYPE_INT, f.channels, "height", G_TYPE_INT,
                             f.height, "width", G_TYPE_INT, f.width, "model-id", G_TYPE_STRING,
                             model_id_to_string(f.model_id).c_str(), nullptr);
}

std::uint64_t realtime_us() { return static_cast<std::uint64_t>(g_get_real_time()); }

}  // namespace rtcoinfer
