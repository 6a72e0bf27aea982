// Collected samples -> a markdown table of medians, min/max and ratios, and a
// gnuplot chart.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace bench {

struct Series {
  std::string case_name;   // "top-level true"
  std::string runtime;     // "crun"
  std::string unit = "ms";
  std::vector<double> values;
  std::vector<double> peak_rss_kb;  // of the runtime's process tree, when known
  std::string note;
  int failures = 0;
  std::string last_error;
};

struct Target {
  std::string case_name, runtime, reference;  // runtime's median <= ratio x reference's
  double ratio;
  // The reference from another case (empty: the same), its median times
  // ref_scale (a 32-deep chain against 32 x one nested launch).
  std::string ref_case = "";
  double ref_scale = 1;
  // > 0: an absolute target instead (median < absolute, in the series' unit).
  double absolute = 0;
  std::string label = "";  // the Targets table's case column (default: case_name)
};

struct Stats {
  double median = 0, min = 0, max = 0;
};
Stats statsOf(std::vector<double> v);

class Report {
 public:
  Series& series(const std::string& case_name, const std::string& runtime, const std::string& unit = "ms");
  void pending(const std::string& case_name, const std::string& why) { pending_[case_name] = why; }
  void target(Target t) { targets_.push_back(std::move(t)); }
  void header(const std::string& line) { header_.push_back(line); }

  // Markdown: machine lines, one table per case, the targets verdict.
  std::string markdown() const;
  // Writes <stem>.dat and <stem>.gp and runs gnuplot into <stem>.png (the
  // time cases only). Returns "" or an error message.
  std::string chart(const std::string& stem, const std::string& title) const;

 private:
  const Series* find(const std::string& c, const std::string& r) const;
  std::vector<Series> series_;
  std::vector<std::string> order_;  // case names in first-seen order
  std::map<std::string, std::string> pending_;
  std::vector<Target> targets_;
  std::vector<std::string> header_;
};

}  // namespace bench
