#include "images.hpp"

#include <unistd.h>

#include <cstdio>

#include "output.hpp"
#include "progress.hpp"

namespace warren::cli {

int imagesCommand(Containerizer& c, const CommandSpec& spec, const po::variables_map& vm) {
  auto& out = Output::get();
  const std::string sub = spec.name.substr(7);
  if (sub == "ls") {
    auto l = c.images();
    if (!l) return out.fail(l.error());
    if (out.json()) {
      out.print(toJson(*l));
      return 0;
    }
    std::printf("%-50s %-20s %7s %12s\n", "REFERENCE", "DIGEST", "LAYERS", "SIZE");
    for (const auto& i : l->images()) {
      std::printf("%-50s %-20s %7d %12llu\n", i.reference().c_str(), i.digest().substr(0, 19).c_str(),
                  i.layers(), static_cast<unsigned long long>(i.size_bytes()));
    }
    return 0;
  }
  if (sub == "pull") {
    if (!vm.count("reference")) return out.fail(Error(Code::InvalidArgument, "usage: warren images pull REF"));
    std::string ref = vm["reference"].as<std::string>();
    ProgressDisplay progress(stderr, ::isatty(2) == 1);
    setActiveProgress(out.json() ? nullptr : &progress);
    auto i = c.pullImage(ref);
    setActiveProgress(nullptr);
    if (!i) return out.fail(i.error());
    if (!out.json()) progress.finish(ref);
    if (out.json()) out.print(toJson(*i));
    else std::printf("%s %s\n", i->reference().c_str(), i->digest().c_str());
    return 0;
  }
  auto r = c.pruneImages();
  if (!r) return out.fail(r.error());
  if (out.json()) {
    out.print(toJson(*r));
    return 0;
  }
  for (const auto& x : r->removed()) std::printf("removed %s\n", x.c_str());
  std::printf("freed %llu bytes\n", static_cast<unsigned long long>(r->freed_bytes()));
  return 0;
}

}  // namespace warren::cli
