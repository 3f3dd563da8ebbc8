#pragma once

#include "systemdiagnostics.h"

#include <QColor>
#include <QString>

namespace vega::ui {

/// The one place that decides how a health state looks, so every page agrees.
QColor healthColor(Health health);
QColor healthTextColor(Health health);
QString healthLabel(Health health);
/// What each colour means, for legends.
QString healthDescription(Health health);

/// Style sheet of a small rounded badge in the health's colours.
QString healthBadgeStyleSheet(Health health);
/// The "stale" badge: data stopped arriving; a frozen view must not look healthy.
QString staleBadgeStyleSheet();

} // namespace vega::ui
