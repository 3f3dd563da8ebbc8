#include "reportpdf.h"

#include <QCoreApplication>
#include <QFileDevice>
#include <QFont>
#include <QGuiApplication>
#include <QIODevice>
#include <QPageLayout>
#include <QPageSize>
#include <QPainter>
#include <QPainterPath>
#include <QPdfWriter>
#include <QTextDocument>
#include <QUrl>

#include <algorithm>

namespace vega::ui {

QImage renderReportChart(const ReportChart &chart, qint64 fromMs, qint64 toMs, qreal scale)
{
    const ReportChartAxis axis = reportChartAxis(chart, fromMs, toMs);
    QImage image(QSize(int(kReportChartWidth * scale), int(kReportChartHeight * scale)),
                 QImage::Format_ARGB32_Premultiplied);
    image.fill(Qt::white);
    QPainter p(&image);
    p.setRenderHint(QPainter::Antialiasing);
    p.setRenderHint(QPainter::TextAntialiasing);
    p.scale(scale, scale);
    const double w = kReportChartWidth - kReportPlotLeft - kReportPlotRight;
    const double h = kReportChartHeight - kReportPlotTop - kReportPlotBottom;
    const QRectF plot(kReportPlotLeft, kReportPlotTop, w, h);
    auto xOf = [&](qint64 t) {
        return kReportPlotLeft + w * double(t - axis.xFromMs) / double(axis.xToMs - axis.xFromMs);
    };
    auto yOf = [&](double v) {
        return kReportPlotTop + h * (1.0 - (v - axis.yMin) / (axis.yMax - axis.yMin));
    };

    p.fillRect(plot, QColor(0xfa, 0xfa, 0xfa));
    QFont font(QStringLiteral("DejaVu Sans"));
    font.setPixelSize(11);
    p.setFont(font);
    for (double v : axis.yTicks) {
        const double y = yOf(v);
        p.setPen(QPen(QColor(0xe0, 0xe0, 0xe0), 1));
        p.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y));
        p.setPen(QColor(0x55, 0x55, 0x55));
        p.drawText(QRectF(0, y - 8, kReportPlotLeft - 6, 16), Qt::AlignRight | Qt::AlignVCenter,
                   axis.yLabel(v));
    }
    for (qint64 t : axis.xTicks) {
        const double x = std::clamp(xOf(t), kReportPlotLeft + 24, kReportPlotLeft + w - 24);
        p.drawText(QRectF(x - 50, kReportChartHeight - kReportPlotBottom + 4, 100, 16), Qt::AlignCenter,
                   axis.xLabel(t));
    }
    p.setPen(QPen(QColor(0xbd, 0xbd, 0xbd), 1));
    p.setBrush(Qt::NoBrush);
    p.drawRect(plot);
    if (chart.points.isEmpty()) {
        p.setPen(QColor(0x75, 0x75, 0x75));
        p.drawText(plot, Qt::AlignCenter, QStringLiteral("No data in this window"));
    } else {
        p.setClipRect(plot.adjusted(-1, -1, 1, 1));
        p.setPen(QPen(QColor(0x15, 0x65, 0xc0), 1.5, Qt::SolidLine, Qt::RoundCap, Qt::RoundJoin));
        if (chart.points.size() == 1) {
            p.setBrush(QColor(0x15, 0x65, 0xc0));
            p.drawEllipse(QPointF(xOf(chart.points.first().tMs), yOf(chart.points.first().value)), 3, 3);
        } else {
            QPainterPath path;
            path.moveTo(xOf(chart.points.first().tMs), yOf(chart.points.first().value));
            for (int i = 1; i < chart.points.size(); ++i)
                path.lineTo(xOf(chart.points[i].tMs), yOf(chart.points[i].value));
            p.drawPath(path);
        }
    }
    p.end();
    return image;
}

bool writeReportPdf(const ReportDocument &document, QIODevice *out, QString *error)
{
    if (!qobject_cast<QGuiApplication *>(QCoreApplication::instance())) {
        *error = QStringLiteral("PDF rendering needs a QGuiApplication (without a display, run with "
                                "QT_QPA_PLATFORM=offscreen)");
        return false;
    }
    if (!out || !out->isWritable()) {
        *error = QStringLiteral("PDF output is not open for writing");
        return false;
    }
    QPdfWriter writer(out);
    writer.setTitle(document.title);
    writer.setCreator(QStringLiteral("Vega Console"));
    writer.setPageSize(QPageSize(QPageSize::A4));
    writer.setPageMargins(QMarginsF(15, 15, 15, 15), QPageLayout::Millimeter);
    writer.setResolution(300);

    QTextDocument doc;
    QFont font(QStringLiteral("DejaVu Sans"));
    font.setPointSizeF(8.5);
    doc.setDefaultFont(font);
    for (const ReportChart &chart : document.charts)
        doc.addResource(QTextDocument::ImageResource, QUrl(QStringLiteral("chart:") + chart.id),
                        renderReportChart(chart, document.fromMs, document.toMs));
    doc.setHtml(document.html);
    doc.print(&writer);
    // QPdfWriter reports no errors itself; a device that refused bytes is the failure to see.
    if (auto *file = qobject_cast<QFileDevice *>(out); file && file->error() != QFileDevice::NoError) {
        *error = file->errorString();
        return false;
    }
    return true;
}

PdfRenderer reportPdfRenderer()
{
    return [](const ReportDocument &document, QIODevice *out, QString *error) {
        return writeReportPdf(document, out, error);
    };
}

} // namespace vega::ui
