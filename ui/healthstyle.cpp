#include "healthstyle.h"

namespace vega::ui {

QColor healthColor(Health health)
{
    switch (health) {
    case Health::Ok: return QColor(0x2e, 0x9e, 0x5b);
    case Health::Warning: return QColor(0xe0, 0xa1, 0x1b);
    case Health::Critical: return QColor(0xd6, 0x3c, 0x3c);
    case Health::Unknown: break;
    }
    return QColor(0x7d, 0x84, 0x8f);
}

QColor healthTextColor(Health health)
{
    return health == Health::Warning ? QColor(0x1a, 0x1a, 0x1a) : QColor(0xff, 0xff, 0xff);
}

QString healthLabel(Health health)
{
    switch (health) {
    case Health::Ok: return QStringLiteral("OK");
    case Health::Warning: return QStringLiteral("Warning");
    case Health::Critical: return QStringLiteral("Critical");
    case Health::Unknown: break;
    }
    return QStringLiteral("Unknown");
}

} // namespace vega::ui
