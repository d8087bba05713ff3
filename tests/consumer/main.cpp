// Renders the seed preset on the threads node through the installed hetero package.
#include <cstdio>

#include <hetero/hetero.hpp>

int main() {
  const hetero::Job job(hetero::resolve_job(hetero::JobRequest{}));
  std::vector<std::unique_ptr<hetero::Node>> nodes;
  nodes.push_back(hetero::NodeRegistry::builtin().create("threads"));
  hetero::Dispatcher dispatcher(std::move(nodes));
  const hetero::RunResult result = dispatcher.run(job);
  std::printf("hetero %s: seed checksum sum %llu\n", hetero::version_string,
              static_cast<unsigned long long>(result.report.checksum.sum));
  return result.report.checksum.sum == 51214485ULL ? 0 : 1;
}
