#pragma once

#include <QString>

namespace vega::ui {

/// The console's colours: the system's palette (as the platform theme gives it), or a dark or
/// light Fusion palette chosen by the operator. Charts and tables follow the palette.
enum class Theme { System, Light, Dark };

QString themeId(Theme theme); // "system", "light", "dark"
Theme themeFromId(const QString &id); // unknown ids: System

/// Applies `theme` to the whole application. The system palette is remembered at the first
/// call, so going back to System restores it.
void applyTheme(Theme theme);
/// True when the palette in force is dark (its window colour is).
bool isDarkPalette();

} // namespace vega::ui
