#include "healthstyle.h"

#include <QCoreApplication>

namespace vega::ui {

namespace {
QString badgeSheet(const QColor &background, const QColor &text)
{
    return QStringLiteral(
               "background-color: %1; color: %2; border-radius: 4px; padding: 2px 8px; font-weight: 600;")
        .arg(background.name(), text.name());
}
} // namespace

QColor healthColor(Health health)
{
    switch (health) {
    case Health::Ok:
        return QColor(0x2e, 0x9e, 0x5b);
    case Health::Warning:
        return QColor(0xe0, 0xa1, 0x1b);
    case Health::Critical:
        return QColor(0xd6, 0x3c, 0x3c);
    case Health::Unknown:
        break;
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
    case Health::Ok:
        return QStringLiteral("OK");
    case Health::Warning:
        return QStringLiteral("Warning");
    case Health::Critical:
        return QStringLiteral("Critical");
    case Health::Unknown:
        break;
    }
    return QStringLiteral("Unknown");
}

QString healthDescription(Health health)
{
    switch (health) {
    case Health::Ok:
        return QCoreApplication::translate("vega::ui::Health", "within thresholds");
    case Health::Warning:
        return QCoreApplication::translate("vega::ui::Health", "past the warning threshold");
    case Health::Critical:
        return QCoreApplication::translate("vega::ui::Health", "past the critical threshold");
    case Health::Unknown:
        break;
    }
    return QCoreApplication::translate("vega::ui::Health", "no reading");
}

QString healthBadgeStyleSheet(Health health)
{
    return badgeSheet(healthColor(health), healthTextColor(health));
}

QString staleBadgeStyleSheet()
{
    return badgeSheet(QColor(0x6d, 0x28, 0xd9), QColor(0xff, 0xff, 0xff));
}

} // namespace vega::ui
