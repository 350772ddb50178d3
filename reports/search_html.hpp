#pragma once
// The capacity search's page (DIR/report.html of `ikestorm search`): the frontier, every
// trial with a link to its own report, and the main metrics against the varied value.
// Rendered from search.json alone, self-contained like report.html.
#include <string>

#include <nlohmann/json.hpp>

namespace ist::reports {

std::string render_search_html(const nlohmann::json& search);

}  // namespace ist::reports
