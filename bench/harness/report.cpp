#include "report.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "bundle.hpp"

namespace bench {

namespace {

std::string num(double v, const std::string& unit) {
  char b[64];
  if (unit == "ms") std::snprintf(b, sizeof b, v < 10 ? "%.2f" : "%.1f", v);
  else std::snprintf(b, sizeof b, "%.0f", v);
  return b;
}

// "task group of 16, launch to all running" -> "group 16" for chart labels.
std::string shortCase(const std::string& c) {
  if (c.rfind("top-level", 0) == 0) return "top-level";
  if (c.rfind("nested", 0) == 0) return "nested";
  if (c.rfind("task group of ", 0) == 0) return "group " + c.substr(14, c.find(',') - 14);
  if (c.rfind("32-deep", 0) == 0) return "chain 32";
  if (c.rfind("recovery with ", 0) == 0) return "recover " + c.substr(14, c.find(' ', 14) - 14);
  return c;
}

}  // namespace

Stats statsOf(std::vector<double> v) {
  Stats s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  s.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  s.min = v.front();
  s.max = v.back();
  return s;
}

Series& Report::series(const std::string& c, const std::string& r, const std::string& unit) {
  for (auto& s : series_) {
    if (s.case_name == c && s.runtime == r) return s;
  }
  if (std::find(order_.begin(), order_.end(), c) == order_.end()) order_.push_back(c);
  series_.push_back(Series{c, r, unit, {}, {}, "", 0, ""});
  return series_.back();
}

const Series* Report::find(const std::string& c, const std::string& r) const {
  for (const auto& s : series_) {
    if (s.case_name == c && s.runtime == r) return &s;
  }
  return nullptr;
}

std::string Report::markdown() const {
  std::ostringstream o;
  for (const auto& h : header_) o << h << "\n";
  o << "\n";
  for (const auto& c : order_) {
    o << "### " << c << "\n\n";
    const Series* crun = find(c, "crun");
    Stats ref = crun ? statsOf(crun->values) : Stats{};
    bool rss = false;
    for (const auto& s : series_) rss = rss || (s.case_name == c && !s.peak_rss_kb.empty());
    o << "| runtime | n | median | min | max | x crun |" << (rss ? " peak RSS kB |" : "") << " note |\n";
    o << "|---|---|---|---|---|---|" << (rss ? "---|" : "") << "---|\n";
    for (const auto& s : series_) {
      if (s.case_name != c) continue;
      Stats st = statsOf(s.values);
      std::string ratio = "-";
      if (!s.values.empty() && ref.median > 0) {
        char b[32];
        std::snprintf(b, sizeof b, "%.2f", st.median / ref.median);
        ratio = b;
      }
      std::string note = s.note;
      if (s.failures) note += (note.empty() ? "" : "; ") + std::to_string(s.failures) + " failed: " + s.last_error;
      o << "| " << s.runtime << " | " << s.values.size() << " | "
        << (s.values.empty() ? "-" : num(st.median, s.unit) + " " + s.unit) << " | "
        << (s.values.empty() ? "-" : num(st.min, s.unit)) << " | "
        << (s.values.empty() ? "-" : num(st.max, s.unit)) << " | " << ratio << " |";
      if (rss) o << " " << (s.peak_rss_kb.empty() ? "-" : num(statsOf(s.peak_rss_kb).median, "kB")) << " |";
      o << " " << note << " |\n";
    }
    o << "\n";
  }
  for (const auto& [c, why] : pending_) o << "- **" << c << "**: pending - " << why << "\n";
  if (!pending_.empty()) o << "\n";
  if (!targets_.empty()) {
    o << "### Targets\n\n| case | warren | reference | ratio | target | verdict |\n|---|---|---|---|---|---|\n";
    for (const auto& t : targets_) {
      const std::string label = (t.label.empty() ? t.case_name : t.label) + " (" + t.runtime + ")";
      const Series* a = find(t.case_name, t.runtime);
      if (t.absolute > 0) {
        if (!a || a->values.empty()) {
          o << "| " << label << " | - | - | - | < " << num(t.absolute, "ms") << " ms | not measured |\n";
          continue;
        }
        double ma = statsOf(a->values).median;
        o << "| " << label << " | " << num(ma, a->unit) << " " << a->unit << " | absolute | - | < "
          << num(t.absolute, a->unit) << " " << a->unit << " | " << (ma < t.absolute ? "met" : "**missed**") << " |\n";
        continue;
      }
      const Series* b = find(t.ref_case.empty() ? t.case_name : t.ref_case, t.reference);
      if (!a || !b || a->values.empty() || b->values.empty()) {
        o << "| " << label << " | - | - | - | <= " << t.ratio << " | not measured |\n";
        continue;
      }
      double ma = statsOf(a->values).median, mb = statsOf(b->values).median * t.ref_scale;
      char r[32], scale[32] = "";
      std::snprintf(r, sizeof r, "%.2f", ma / mb);
      if (t.ref_scale != 1) std::snprintf(scale, sizeof scale, "%g x ", t.ref_scale);
      std::string ref = std::string(scale) + t.reference + (t.ref_case.empty() ? "" : " (" + t.ref_case + ")");
      o << "| " << label << " | " << num(ma, a->unit) << " " << a->unit << " | " << ref << " "
        << num(mb, b->unit) << " " << b->unit << " | " << r << " | <= " << t.ratio << " | "
        << (ma <= t.ratio * mb ? "met" : "**missed**") << " |\n";
    }
    o << "\n";
  }
  return o.str();
}

std::string Report::chart(const std::string& stem, const std::string& title) const {
  std::ostringstream d;
  std::map<std::string, int> colour;
  int n = 0;
  for (const auto& c : order_) {
    for (const auto& s : series_) {
      if (s.case_name != c || s.unit != "ms" || s.values.empty()) continue;
      if (!colour.count(s.runtime)) colour[s.runtime] = static_cast<int>(colour.size()) + 1;
      Stats st = statsOf(s.values);
      d << "\"" << shortCase(c) << ": " << s.runtime << "\" " << st.median << " " << st.min << " " << st.max << " "
        << colour[s.runtime] << "\n";
      ++n;
    }
  }
  if (n == 0) return "no time series to chart";
  if (!writeFile(stem + ".dat", d.str())) return "cannot write " + stem + ".dat";
  std::ostringstream g;
  g << "set terminal pngcairo size " << std::max(900, 70 * n) << ",520 font ',9'\n"
    << "set output '" << stem << ".png'\n"
    << "set title '" << title << "'\nset ylabel 'ms (median, bars: min..max), log scale'\n"
    << "set logscale y\nset style fill solid 0.7\nset boxwidth 0.7\nset grid ytics\n"
    << "set xtics rotate by -45 font ',8'\nset key off\nset bmargin 9\n"
    << "plot '" << stem << ".dat' using 0:2:3:4:(0.7):5:xtic(1) with boxerrorbars lc variable\n";
  if (!writeFile(stem + ".gp", g.str())) return "cannot write " + stem + ".gp";
  std::string cmd = "gnuplot '" + stem + ".gp' 2>&1";
  if (std::system(cmd.c_str()) != 0) return "gnuplot failed (install gnuplot-nox)";
  return "";
}

}  // namespace bench
