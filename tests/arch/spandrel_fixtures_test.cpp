// The spandrel reference fixtures of the implemented architectures: detection and output, case by case.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "arch/architecture.h"
#include "io/model_file.h"
#include "io/npy.h"
#include "support/fixtures.h"

namespace uprez {
namespace {

namespace fs = std::filesystem;

fs::path spandrel_root() { return fs::path(test::fixtures_root()) / "spandrel"; }

nlohmann::json read_json(const fs::path& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

void check_cases_of(const std::string& architecture) {
  const fs::path root = spandrel_root();
  const nlohmann::json index = read_json(root / "index.json");
  int checked = 0;
  for (const nlohmann::json& entry : index.at("cases")) {
    if (entry.at("arch").get<std::string>() != architecture) continue;
    SCOPED_TRACE(entry.at("path").get<std::string>());
    const fs::path case_dir = root / entry.at("path").get<std::string>();
    const nlohmann::json meta = read_json(case_dir / "meta.json");
    const std::string model_file = (root / entry.at("model_file").get<std::string>()).string();

    const Model model = load_model(load_state_dict(model_file), model_file);
    EXPECT_EQ(model.info.architecture_id, meta.at("architecture"));
    EXPECT_EQ(model.info.scale, meta.at("scale"));
    EXPECT_EQ(model.info.input_channels, meta.at("input_channels"));
    EXPECT_EQ(model.info.output_channels, meta.at("output_channels"));
    EXPECT_EQ(model.info.tags, meta.at("tags").get<std::vector<std::string>>());
    EXPECT_EQ(model.info.size_requirements.minimum, meta.at("size_requirements").at("minimum"));
    EXPECT_EQ(model.info.size_requirements.multiple_of, meta.at("size_requirements").at("multiple_of"));

    const torch::Tensor output = model(read_npy((case_dir / "input.npy").string()));
    const torch::Tensor expected = read_npy((case_dir / "output.npy").string());
    ASSERT_EQ(output.sizes(), expected.sizes());
    const torch::Tensor error = (output - expected).abs();
    EXPECT_LE(error.max().item<double>(), entry.at("tolerance_max_abs").get<double>());
    EXPECT_LE(error.mean().item<double>(), entry.at("tolerance_mean_abs").get<double>());
    ++checked;
  }
  EXPECT_GT(checked, 0) << "no " << architecture << " cases in " << root;
}

TEST(SpandrelFixtures, Esrgan) {
  UPREZ_REQUIRE_PATH(spandrel_root() / "index.json");
  check_cases_of("ESRGAN");
}

TEST(SpandrelFixtures, Compact) {
  UPREZ_REQUIRE_PATH(spandrel_root() / "index.json");
  check_cases_of("Compact");
}

TEST(SpandrelFixtures, Span) {
  UPREZ_REQUIRE_PATH(spandrel_root() / "index.json");
  check_cases_of("SPAN");
}

}  // namespace
}  // namespace uprez
