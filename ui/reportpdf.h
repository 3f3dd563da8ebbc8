#pragma once

#include "reportbuilder.h"

#include <QImage>

class QIODevice;

namespace vega::ui {

/**
 * Prints a report to PDF (A4, 15 mm margins) with QPdfWriter and QTextDocument; the charts
 * the document refers to as <img src="chart:<id>"> are painted with QPainter into images
 * (QtSvg is not used). Safe on a worker thread: it touches no widget, only QImage, QPainter,
 * QTextDocument and QPdfWriter created here.
 *
 * Needs a QGuiApplication for fonts; a headless program creates one with the "offscreen"
 * platform (QT_QPA_PLATFORM=offscreen) and needs a font installed (fontconfig). Without a
 * QGuiApplication it fails with an error saying so.
 */
bool writeReportPdf(const ReportDocument &document, QIODevice *out, QString *error);

/// writeReportPdf() as the hook ReportBuilder::setPdfRenderer() and ExportDialog take.
PdfRenderer reportPdfRenderer();

/// One chart as an image of kReportChartWidth x kReportChartHeight times `scale` pixels.
QImage renderReportChart(const ReportChart &chart, qint64 fromMs, qint64 toMs, qreal scale = 2.0);

} // namespace vega::ui
