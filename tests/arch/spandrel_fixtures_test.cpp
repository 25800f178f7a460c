// The spandrel reference fixtures, architecture by architecture (every registered one): detection and output
// case by case, and the same models on awkward input sizes (1 px, primes, a window plus one, wide and tall).
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "arch/architecture.h"
#include "io/model_file.h"
#include "io/npy.h"
#include "support/fixtures.h"

namespace uprez {
namespace spandrel_fixtures_test {

namespace fs = std::filesystem;

fs::path spandrel_root() { return fs::path(test::fixtures_root()) / "spandrel"; }

nlohmann::json read_json(const fs::path& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

// The index entries of `architecture`'s cases.
std::vector<nlohmann::json> cases_of(const std::string& architecture) {
  const nlohmann::json index = read_json(spandrel_root() / "index.json");
  std::vector<nlohmann::json> cases;
  for (const nlohmann::json& entry : index.at("cases"))
    if (entry.at("arch").get<std::string>() == architecture) cases.push_back(entry);
  return cases;
}

Model load_case_model(const nlohmann::json& entry) {
  const std::string model_file = (spandrel_root() / entry.at("model_file").get<std::string>()).string();
  return load_model(load_state_dict(model_file), model_file);
}

class SpandrelFixtures : public testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    UPREZ_REQUIRE_PATH(spandrel_root() / "index.json");
    cases_ = cases_of(GetParam());
    ASSERT_FALSE(cases_.empty()) << "no " << GetParam() << " cases in " << spandrel_root();
  }
  std::vector<nlohmann::json> cases_;
};

TEST_P(SpandrelFixtures, DetectsAndReproducesEveryCase) {
  for (const nlohmann::json& entry : cases_) {
    SCOPED_TRACE(entry.at("path").get<std::string>());
    const fs::path case_dir = spandrel_root() / entry.at("path").get<std::string>();
    const nlohmann::json meta = read_json(case_dir / "meta.json");
    const Model model = load_case_model(entry);
    EXPECT_EQ(model.info.architecture_id, meta.at("architecture"));
    EXPECT_EQ(model.info.scale, meta.at("scale"));
    EXPECT_EQ(model.info.input_channels, meta.at("input_channels"));
    EXPECT_EQ(model.info.output_channels, meta.at("output_channels"));
    EXPECT_EQ(model.info.tags, meta.at("tags").get<std::vector<std::string>>());
    EXPECT_EQ(model.info.size_requirements.minimum, meta.at("size_requirements").at("minimum"));
    EXPECT_EQ(model.info.size_requirements.multiple_of, meta.at("size_requirements").at("multiple_of"));

    std::vector<torch::Tensor> draws;  // the random numbers a stochastic network drew for the reference
    for (const nlohmann::json& draw : meta.value("random_draws", nlohmann::json::array()))
      draws.push_back(read_npy((case_dir / draw.at("file").get<std::string>()).string()));
    if (!draws.empty()) model.network->replay_random_draws(std::move(draws));
    const torch::Tensor output = model(read_npy((case_dir / "input.npy").string()));
    const torch::Tensor expected = read_npy((case_dir / "output.npy").string());
    ASSERT_EQ(output.sizes(), expected.sizes());
    const torch::Tensor error = (output - expected).abs();
    EXPECT_LE(error.max().item<double>(), entry.at("tolerance_max_abs").get<double>());
    EXPECT_LE(error.mean().item<double>(), entry.at("tolerance_mean_abs").get<double>());
  }
}

TEST_P(SpandrelFixtures, RunsOnAwkwardSizes) {
  // One pixel, primes, a 16-pixel window plus one, and shapes far from square.
  const std::vector<std::pair<int64_t, int64_t>> sizes = {{1, 1}, {13, 17}, {17, 9}, {2, 37}, {33, 5}};
  for (const nlohmann::json& entry : cases_) {
    SCOPED_TRACE(entry.at("path").get<std::string>());
    const Model model = load_case_model(entry);
    for (const auto& [height, width] : sizes) {
      SCOPED_TRACE(std::to_string(height) + "x" + std::to_string(width));
      torch::manual_seed(3);
      const torch::Tensor output = model(torch::rand({1, model.info.input_channels, height, width}));
      EXPECT_EQ(output.sizes(), (std::vector<int64_t>{1, model.info.output_channels, height * model.info.scale,
                                                       width * model.info.scale}));
      EXPECT_TRUE(torch::isfinite(output).all().item<bool>());
    }
  }
}

TEST_P(SpandrelFixtures, RunsInBfloat16OnTheCpuWhereSpandrelAllowsIt) {
  // 13x17 needs padding (reflect, then replicate) wherever the architecture pads; LibTorch 1.13 has no bfloat16
  // padding kernels on the CPU.
  for (const nlohmann::json& entry : cases_) {
    SCOPED_TRACE(entry.at("path").get<std::string>());
    Model model = load_case_model(entry);
    if (!model.info.supports_bfloat16) continue;
    torch::manual_seed(3);
    const torch::Tensor input = torch::rand({1, model.info.input_channels, 13, 17});
    const torch::Tensor reference = model(input);
    model.to(torch::kCPU, torch::kBFloat16);
    const torch::Tensor output = model(input.to(torch::kBFloat16)).to(torch::kFloat);
    ASSERT_EQ(output.sizes(), reference.sizes());
    EXPECT_TRUE(torch::isfinite(output).all().item<bool>());
    const double scale = std::max(1.0, reference.abs().max().item<double>());
    EXPECT_LE((output - reference).abs().mean().item<double>(), 0.05 * scale);
  }
}

std::vector<std::string> registered_ids() {
  std::vector<std::string> ids;
  for (const Architecture& arch : architectures()) ids.push_back(arch.id);
  return ids;
}

INSTANTIATE_TEST_SUITE_P(Registry, SpandrelFixtures, testing::ValuesIn(registered_ids()),
                         [](const testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace spandrel_fixtures_test
}  // namespace uprez
