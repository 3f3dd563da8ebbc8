#pragma once

#include <QColor>
#include <QFrame>

QT_BEGIN_NAMESPACE
class QLabel;
QT_END_NAMESPACE

namespace vega::ui {

/// One number at a glance: a title, the value (big) and a caption that says what it covers.
class StatTile : public QFrame {
    Q_OBJECT
public:
    StatTile(const QString &id, const QString &title, const QString &toolTip, QWidget *parent = nullptr);
    ~StatTile() override;

    QString id() const { return m_id; }
    QString valueText() const;
    QString captionText() const;

    void setContent(const QString &value, const QString &caption);
    /// Colour of the bar on the left edge; matches the tile's series in the charts.
    void setAccent(const QColor &color);

private:
    QString m_id;
    QColor m_accent;
    QLabel *m_value = nullptr;
    QLabel *m_caption = nullptr;
};

} // namespace vega::ui
