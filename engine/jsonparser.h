#pragma once

#include <QByteArray>
#include <QList>
#include <QPair>
#include <QString>

namespace vega {

/// A JSON value that remembers where it was written, so configuration errors can name
/// the line and column (QJsonDocument only reports a byte offset, and only for syntax).
struct JsonNode {
    enum class Type { Null, Bool, Number, String, Array, Object };
    Type type = Type::Null;
    bool boolean = false;
    double number = 0;
    bool integral = false; // written without fraction or exponent
    QString string;
    QList<JsonNode> items;
    QList<QPair<QString, JsonNode>> members; // in file order, duplicates kept
    QList<QPair<int, int>> keyPositions;     // line/column of each member's key
    int line = 0;
    int column = 0;
    QString raw; // source text of the value (truncated for long values)

    QString typeName() const;
};

struct JsonSyntaxError {
    int line = 0;
    int column = 0;
    QString message;
};

/// Strict RFC 8259 parser (UTF-8). Returns false and fills `error` on a syntax error.
bool parseJson(const QByteArray &text, JsonNode *out, JsonSyntaxError *error);

} // namespace vega
