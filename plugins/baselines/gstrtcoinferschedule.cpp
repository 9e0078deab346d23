/**
 * SECTION:element-rtcoinfer-schedule
 * @title: rtcoinfer-schedule
 *
 * The oracle baseline's replay: in place of rtcoinfer-mpcrate, it follows a per-frame
 * plan made offline (rtcoinfer-tracesim's oracle writes one; tools/rtcoinfer-evaluate
 * --live replays it) instead of deciding. The plan is a text file with one line per
 * frame, `<channels>x<bits>` (a setup of the bundle) or `skip`; blank lines and lines
 * starting with # are ignored. Frame n is sent or dropped as its line says, and the setup
 * of frame n + 1 is asked for upstream with an `rtcoinfer-setup` event (the head and
 * compress apply it from their next frame). After the plan's end its last line holds. A
 * bad line fails the start with its number.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 rtcoinfer-datasetsrc num-buffers=100 ! rtcoinfer-head model=models/zoo/fashion-mnist-swcnn.rcib \
 *     ! rtcoinfer-compress ! rtcoinfer-schedule model=models/zoo/fashion-mnist-swcnn.rcib schedule=plan.txt \
 *     ! rtcoinfer-tail model=models/zoo/fashion-mnist-swcnn.rcib ! fdsink
 * ]| Sends each frame at the setup plan.txt names for it.
 */
#include "gstrtcoinferschedule.h"

#include <algorithm>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "common/model_loading.h"
#include "contract/rtcoinfer_meta.h"
#include "contract/setup_event.h"

GST_DEBUG_CATEGORY_STATIC(gst_rtcoinfer_schedule_debug);
#define GST_CAT_DEFAULT gst_rtcoinfer_schedule_debug

namespace {

struct ScheduleState {
  // properties, with the object lock
  std::string model_path, schedule_path;

  // the plan and where it is, with the object lock (set by start, advanced by the
  // streaming thread)
  std::vector<std::optional<rtcoinfer::Setup>> plan;  // nullopt: skip the frame
  std::size_t frame = 0;
  guint64 skips = 0;
  std::optional<rtcoinfer::Setup> requested;
};

}  // namespace

struct _GstRtcoinferSchedule {
  GstBaseTransform parent;
  ScheduleState *state;
};

enum { PROP_0, PROP_MODEL, PROP_SCHEDULE, PROP_STATS };

static GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(RTCOINFER_FRAME_CAPS_NAME));
static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(RTCOINFER_FRAME_CAPS_NAME));

#define gst_rtcoinfer_schedule_parent_class parent_class
G_DEFINE_TYPE_WITH_CODE(GstRtcoinferSchedule, gst_rtcoinfer_schedule, GST_TYPE_BASE_TRANSFORM,
                        GST_DEBUG_CATEGORY_INIT(gst_rtcoinfer_schedule_debug, "rtcoinfer-schedule", 0,
                                                "RTCoInfer oracle schedule replay (baselines)"));
GST_ELEMENT_REGISTER_DEFINE(rtcoinfer_schedule, "rtcoinfer-schedule", GST_RANK_NONE, GST_TYPE_RTCOINFER_SCHEDULE);

static bool load_plan(GstRtcoinferSchedule *self, const std::string &path, const rtcoinfer::SetupTable &table,
                      std::vector<std::optional<rtcoinfer::Setup>> &out) {
  std::ifstream in(path);
  if (!in) {
    GST_ELEMENT_ERROR(self, RESOURCE, OPEN_READ, ("Cannot open the schedule %s", path.c_str()), (nullptr));
    return false;
  }
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    line.erase(0, line.find_first_not_of(" \t"));
    line.erase(line.find_last_not_of(" \t\r") + 1);
    if (line.empty() || line[0] == '#') continue;
    if (line == "skip") {
      out.emplace_back();
      continue;
    }
    std::string error;
    auto setup = table.lookup(line, &error);
    if (!setup) {
      GST_ELEMENT_ERROR(self, LIBRARY, SETTINGS, ("Schedule %s, line %d: %s", path.c_str(), number, error.c_str()),
                        ("each line is a setup of the bundle (\"<channels>x<bits>\") or \"skip\""));
      return false;
    }
    out.emplace_back(setup);
  }
  if (out.empty()) {
    GST_ELEMENT_ERROR(self, LIBRARY, SETTINGS, ("Schedule %s has no frames", path.c_str()), (nullptr));
    return false;
  }
  return true;
}

static gboolean gst_rtcoinfer_schedule_start(GstBaseTransform *trans) {
  auto *self = GST_RTCOINFER_SCHEDULE(trans);
  ScheduleState *st = self->state;
  GST_OBJECT_LOCK(self);
  const std::string model = st->model_path, path = st->schedule_path;
  GST_OBJECT_UNLOCK(self);
  auto manifest = rtcoinfer::load_manifest_for(GST_ELEMENT(self), model);
  if (!manifest) return FALSE;
  if (path.empty()) {
    GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND, ("No schedule given"), ("set schedule=<plan file>"));
    return FALSE;
  }
  std::vector<std::optional<rtcoinfer::Setup>> plan;
  if (!load_plan(self, path, manifest->info.setups, plan)) return FALSE;
  GST_OBJECT_LOCK(self);
  st->plan = std::move(plan);
  st->frame = 0;
  st->skips = 0;
  st->requested.reset();
  GST_OBJECT_UNLOCK(self);
  return TRUE;
}

static GstFlowReturn gst_rtcoinfer_schedule_transform_ip(GstBaseTransform *trans, GstBuffer *) {
  auto *self = GST_RTCOINFER_SCHEDULE(trans);
  ScheduleState *st = self->state;
  GST_OBJECT_LOCK(self);
  const auto &plan = st->plan;
  const std::size_t n = st->frame++;
  auto at = [&](std::size_t i) { return plan[std::min(i, plan.size() - 1)]; };
  const bool send = at(n).has_value();
  std::optional<rtcoinfer::Setup> next;
  for (std::size_t i = n + 1; i < std::max(n + 2, plan.size()) && !next; ++i) next = at(i);
  std::optional<rtcoinfer::Setup> ask;
  if (next && !(st->requested && *st->requested == *next)) ask = st->requested = next;
  if (!send) st->skips++;
  GST_OBJECT_UNLOCK(self);
  if (ask) gst_pad_push_event(GST_BASE_TRANSFORM_SINK_PAD(self), rtcoinfer::setup_event_new(*ask));
  return send ? GST_FLOW_OK : GST_BASE_TRANSFORM_FLOW_DROPPED;
}

static void gst_rtcoinfer_schedule_set_property(GObject *object, guint prop_id, const GValue *value,
                                                GParamSpec *pspec) {
  auto *self = GST_RTCOINFER_SCHEDULE(object);
  const std::string text = g_value_get_string(value) ? g_value_get_string(value) : "";
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_MODEL: self->state->model_path = text; break;
    case PROP_SCHEDULE: self->state->schedule_path = text; break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_rtcoinfer_schedule_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec) {
  auto *self = GST_RTCOINFER_SCHEDULE(object);
  ScheduleState *st = self->state;
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_MODEL: g_value_set_string(value, st->model_path.c_str()); break;
    case PROP_SCHEDULE:
      g_value_set_string(value, st->schedule_path.empty() ? nullptr : st->schedule_path.c_str());
      break;
    case PROP_STATS:
      g_value_take_boxed(value, gst_structure_new("rtcoinfer-schedule-stats", "frames", G_TYPE_UINT64,
                                                  guint64(st->frame), "skips", G_TYPE_UINT64, st->skips, nullptr));
      break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_rtcoinfer_schedule_finalize(GObject *object) {
  delete GST_RTCOINFER_SCHEDULE(object)->state;
  G_OBJECT_CLASS(parent_class)->finalize(object);
}

static void gst_rtcoinfer_schedule_init(GstRtcoinferSchedule *self) {
  self->state = new ScheduleState();
  gst_base_transform_set_in_place(GST_BASE_TRANSFORM(self), TRUE);
}

static void gst_rtcoinfer_schedule_class_init(GstRtcoinferScheduleClass *klass) {
  GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS(klass);
  gobject_class->set_property = gst_rtcoinfer_schedule_set_property;
  gobject_class->get_property = gst_rtcoinfer_schedule_get_property;
  gobject_class->finalize = gst_rtcoinfer_schedule_finalize;
  const auto rw = GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  /**
   * GstRtcoinferSchedule:model:
   *
   * The model bundle rtcoinfer-head runs: the plan's setups must be setups of its table.
   * Read when the element starts; one that cannot be loaded fails the start.
   */
  g_object_class_install_property(
      gobject_class, PROP_MODEL,
      g_param_spec_string("model", "Model bundle", "The bundle rtcoinfer-head runs, whose setups the plan names",
                          nullptr, rw));
  /**
   * GstRtcoinferSchedule:schedule:
   *
   * The plan file: one line per frame, `<channels>x<bits>` (a setup of the bundle) or
   * `skip`; blank lines and lines starting with # are ignored. Required. Read when the
   * element starts; a bad line fails the start with its number.
   */
  g_object_class_install_property(
      gobject_class, PROP_SCHEDULE,
      g_param_spec_string("schedule", "Schedule", "Plan file: one line per frame, \"<channels>x<bits>\" or \"skip\"",
                          nullptr, rw));
  /**
   * GstRtcoinferSchedule:stats:
   *
   * Read-only: `frames` (guint64, seen) and `skips` (guint64, dropped as the plan says).
   */
  g_object_class_install_property(
      gobject_class, PROP_STATS,
      g_param_spec_boxed("stats", "Statistics", "Counters: frames, skips", GST_TYPE_STRUCTURE,
                         GParamFlags(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));
  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);
  gst_element_class_set_static_metadata(element_class, "RTCoInfer schedule replay (oracle baseline)", "Filter/Network",
                                        "Sends each frame at the setup an offline plan names",
                                        "gst-rtcoinfer developers");
  trans_class->start = GST_DEBUG_FUNCPTR(gst_rtcoinfer_schedule_start);
  trans_class->transform_ip = GST_DEBUG_FUNCPTR(gst_rtcoinfer_schedule_transform_ip);
  trans_class->passthrough_on_same_caps = FALSE;
}
