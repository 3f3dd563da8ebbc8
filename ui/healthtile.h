#pragma once

#include "systemdiagnostics.h"

#include <QFrame>

QT_BEGIN_NAMESPACE
class QLabel;
QT_END_NAMESPACE

namespace vega::ui {

/// One diagnostics category at a glance: health colour, its key value and why.
class HealthTile : public QFrame {
    Q_OBJECT
public:
    explicit HealthTile(const QString &categoryId, const QString &title, QWidget *parent = nullptr);
    ~HealthTile() override;

    QString categoryId() const { return m_categoryId; }
    void setTitle(const QString &title);
    Health health() const { return m_health; }
    QString valueText() const;
    QString detailText() const;
    QString reasonText() const;

    /// Shows `value` (big), `caption` under it, a detail line and the reason.
    void setContent(Health health, const QString &value, const QString &caption, const QString &detail,
                    const QString &reason);

private:
    QString m_categoryId;
    Health m_health = Health::Unknown;
    QLabel *m_title = nullptr;
    QLabel *m_badge = nullptr;
    QLabel *m_value = nullptr;
    QLabel *m_caption = nullptr;
    QLabel *m_detail = nullptr;
    QLabel *m_reason = nullptr;
};

} // namespace vega::ui
