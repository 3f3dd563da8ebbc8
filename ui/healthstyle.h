#pragma once

#include "systemdiagnostics.h"

#include <QColor>
#include <QString>

namespace vega::ui {

/// The one place that decides how a health state looks, so every page agrees.
QColor healthColor(Health health);
QColor healthTextColor(Health health);
QString healthLabel(Health health);

} // namespace vega::ui
