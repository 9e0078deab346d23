// ProgressBar: one line of progress on stderr with ETA, loss and accuracy.
//
// On a terminal the line is redrawn in place; in a log file (nohup, CI) it prints a
// fresh line every 2% of the work or every 30 s, so logs stay short but show the trend.
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

namespace rtcoinfer::train {

class ProgressBar {
 public:
  // `first`/`second` name the two running values shown (loss and accuracy by default;
  // an accuracy-like value is shown as a percentage).
  ProgressBar(std::string label, long total, long done = 0, std::string first = "loss", std::string second = "acc")
      : label_(std::move(label)),
        first_(std::move(first)),
        second_(std::move(second)),
        total_(total),
        start_done_(done),
        start_(std::chrono::steady_clock::now()),
        tty_(isatty(STDERR_FILENO) == 1) {}

  void update(long done, double loss, double accuracy) {
    const bool last = done >= total_;
    const long step = total_ >= 50 ? total_ / 50 : 1;
    const double elapsed = seconds();
    if (!tty_ && !last && done % step != 0 && elapsed - last_print_ < 30.0) return;
    last_print_ = elapsed;
    const long run = done - start_done_;
    const double per = run > 0 ? elapsed / run : 0.0;
    const double eta = per * double(total_ - done);
    const int width = 30;
    const int filled = total_ > 0 ? int(width * double(done) / double(total_)) : width;
    std::string bar(std::size_t(filled), '#');
    bar.resize(width, '.');
    std::fprintf(stderr, "%s%s [%s] %ld/%ld %.2fs/step eta %s %s %.4f %s %.2f%%%s", tty_ ? "\r" : "", label_.c_str(),
                 bar.c_str(), done, total_, per, format_time(eta).c_str(), first_.c_str(), loss, second_.c_str(),
                 100.0 * accuracy, tty_ && !last ? "" : "\n");
    std::fflush(stderr);
  }

  double seconds() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }

 private:
  static std::string format_time(double s) {
    char buf[32];
    const long t = long(s + 0.5);
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
    return buf;
  }

  std::string label_, first_, second_;
  long total_, start_done_;
  double last_print_ = 0;
  std::chrono::steady_clock::time_point start_;
  bool tty_;
};

}  // namespace rtcoinfer::train
