#include "jsonparser.h"

#include <cmath>

namespace vega {

namespace {

constexpr int kMaxDepth = 128;
constexpr int kMaxRaw = 80;

class Parser {
public:
    explicit Parser(const QByteArray &text) : m_text(text) {}

    bool parseDocument(JsonNode *out, JsonSyntaxError *error)
    {
        skipWhitespace();
        if (atEnd())
            return fail(error, QStringLiteral("the file is empty; expected a JSON object"));
        if (!parseValue(out, 0, error))
            return false;
        skipWhitespace();
        if (!atEnd())
            return fail(error, QStringLiteral("unexpected '%1' after the end of the document").arg(currentChar()));
        return true;
    }

private:
    bool atEnd() const { return m_pos >= m_text.size(); }
    char peek() const { return atEnd() ? '\0' : m_text.at(m_pos); }
    QString currentChar() const { return atEnd() ? QStringLiteral("end of file") : QString(QLatin1Char(peek())); }

    void advance()
    {
        if (atEnd())
            return;
        if (m_text.at(m_pos) == '\n') {
            ++m_line;
            m_column = 1;
        } else if ((static_cast<unsigned char>(m_text.at(m_pos)) & 0xC0) != 0x80) {
            ++m_column; // count characters, not UTF-8 continuation bytes
        }
        ++m_pos;
    }

    void skipWhitespace()
    {
        while (!atEnd()) {
            const char c = peek();
            if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
                advance();
            else
                break;
        }
    }

    bool fail(JsonSyntaxError *error, const QString &message)
    {
        if (error) {
            error->line = m_line;
            error->column = m_column;
            error->message = message;
        }
        return false;
    }

    void finishRaw(JsonNode *node, qsizetype start)
    {
        QString raw = QString::fromUtf8(m_text.mid(start, m_pos - start));
        if (raw.size() > kMaxRaw)
            raw = raw.left(kMaxRaw - 3) + QStringLiteral("...");
        node->raw = raw;
    }

    bool parseValue(JsonNode *node, int depth, JsonSyntaxError *error)
    {
        if (depth > kMaxDepth)
            return fail(error, QStringLiteral("nesting deeper than %1 levels").arg(kMaxDepth));
        skipWhitespace();
        node->line = m_line;
        node->column = m_column;
        const qsizetype start = m_pos;
        bool ok = false;
        switch (peek()) {
        case '{': ok = parseObject(node, depth, error); break;
        case '[': ok = parseArray(node, depth, error); break;
        case '"':
            node->type = JsonNode::Type::String;
            ok = parseString(&node->string, error);
            break;
        case 't': ok = parseLiteral("true", node, error); break;
        case 'f': ok = parseLiteral("false", node, error); break;
        case 'n': ok = parseLiteral("null", node, error); break;
        default:
            if (peek() == '-' || (peek() >= '0' && peek() <= '9'))
                ok = parseNumber(node, error);
            else if (atEnd())
                return fail(error, QStringLiteral("unexpected end of file; expected a value"));
            else
                return fail(error, QStringLiteral("unexpected '%1'; expected a value").arg(currentChar()));
        }
        if (ok)
            finishRaw(node, start);
        return ok;
    }

    bool parseLiteral(const char *word, JsonNode *node, JsonSyntaxError *error)
    {
        const QByteArray w(word);
        if (m_text.mid(m_pos, w.size()) != w)
            return fail(error, QStringLiteral("invalid literal; expected '%1'").arg(QString::fromLatin1(w)));
        for (int i = 0; i < w.size(); ++i)
            advance();
        if (w == "null") {
            node->type = JsonNode::Type::Null;
        } else {
            node->type = JsonNode::Type::Bool;
            node->boolean = (w == "true");
        }
        return true;
    }

    bool parseNumber(JsonNode *node, JsonSyntaxError *error)
    {
        const qsizetype start = m_pos;
        bool integral = true;
        if (peek() == '-')
            advance();
        if (peek() == '0') {
            advance();
        } else if (peek() >= '1' && peek() <= '9') {
            while (peek() >= '0' && peek() <= '9')
                advance();
        } else {
            return fail(error, QStringLiteral("invalid number"));
        }
        if (peek() == '.') {
            integral = false;
            advance();
            if (!(peek() >= '0' && peek() <= '9'))
                return fail(error, QStringLiteral("invalid number: digits expected after '.'"));
            while (peek() >= '0' && peek() <= '9')
                advance();
        }
        if (peek() == 'e' || peek() == 'E') {
            integral = false;
            advance();
            if (peek() == '+' || peek() == '-')
                advance();
            if (!(peek() >= '0' && peek() <= '9'))
                return fail(error, QStringLiteral("invalid number: digits expected in the exponent"));
            while (peek() >= '0' && peek() <= '9')
                advance();
        }
        bool ok = false;
        const double value = m_text.mid(start, m_pos - start).toDouble(&ok);
        if (!ok || !std::isfinite(value))
            return fail(error, QStringLiteral("number out of range"));
        node->type = JsonNode::Type::Number;
        node->number = value;
        node->integral = integral;
        return true;
    }

    bool parseHex4(uint *out, JsonSyntaxError *error)
    {
        uint v = 0;
        for (int i = 0; i < 4; ++i) {
            const char c = peek();
            v <<= 4;
            if (c >= '0' && c <= '9')
                v |= uint(c - '0');
            else if (c >= 'a' && c <= 'f')
                v |= uint(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F')
                v |= uint(c - 'A' + 10);
            else
                return fail(error, QStringLiteral("invalid \\u escape: 4 hex digits expected"));
            advance();
        }
        *out = v;
        return true;
    }

    bool parseString(QString *out, JsonSyntaxError *error)
    {
        advance(); // opening quote
        QByteArray bytes;
        while (true) {
            if (atEnd())
                return fail(error, QStringLiteral("unterminated string"));
            const char c = peek();
            if (c == '"') {
                advance();
                break;
            }
            if (static_cast<unsigned char>(c) < 0x20)
                return fail(error, c == '\n' ? QStringLiteral("unterminated string (newline inside a string)")
                                             : QStringLiteral("control character inside a string"));
            if (c != '\\') {
                bytes.append(c);
                advance();
                continue;
            }
            advance();
            const char e = peek();
            switch (e) {
            case '"': bytes.append('"'); break;
            case '\\': bytes.append('\\'); break;
            case '/': bytes.append('/'); break;
            case 'b': bytes.append('\b'); break;
            case 'f': bytes.append('\f'); break;
            case 'n': bytes.append('\n'); break;
            case 'r': bytes.append('\r'); break;
            case 't': bytes.append('\t'); break;
            case 'u': {
                advance();
                uint code = 0;
                if (!parseHex4(&code, error))
                    return false;
                if (code >= 0xD800 && code <= 0xDBFF && peek() == '\\') {
                    advance();
                    if (peek() != 'u')
                        return fail(error, QStringLiteral("invalid surrogate pair"));
                    advance();
                    uint low = 0;
                    if (!parseHex4(&low, error))
                        return false;
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
                }
                const char32_t ch = char32_t(code);
                bytes.append(QString::fromUcs4(&ch, 1).toUtf8());
                continue;
            }
            default:
                return fail(error, QStringLiteral("invalid escape '\\%1' in a string").arg(currentChar()));
            }
            advance();
        }
        *out = QString::fromUtf8(bytes);
        return true;
    }

    bool parseArray(JsonNode *node, int depth, JsonSyntaxError *error)
    {
        node->type = JsonNode::Type::Array;
        advance();
        skipWhitespace();
        if (peek() == ']') {
            advance();
            return true;
        }
        while (true) {
            JsonNode item;
            if (!parseValue(&item, depth + 1, error))
                return false;
            node->items.append(std::move(item));
            skipWhitespace();
            if (peek() == ',') {
                advance();
                skipWhitespace();
                if (peek() == ']')
                    return fail(error, QStringLiteral("trailing comma before ']'"));
                continue;
            }
            if (peek() == ']') {
                advance();
                return true;
            }
            return fail(error, QStringLiteral("expected ',' or ']' but found %1").arg(currentChar()));
        }
    }

    bool parseObject(JsonNode *node, int depth, JsonSyntaxError *error)
    {
        node->type = JsonNode::Type::Object;
        advance();
        skipWhitespace();
        if (peek() == '}') {
            advance();
            return true;
        }
        while (true) {
            skipWhitespace();
            if (peek() != '"')
                return fail(error, QStringLiteral("expected a quoted key but found %1").arg(currentChar()));
            const int keyLine = m_line;
            const int keyColumn = m_column;
            QString key;
            if (!parseString(&key, error))
                return false;
            skipWhitespace();
            if (peek() != ':')
                return fail(error, QStringLiteral("expected ':' after key \"%1\"").arg(key));
            advance();
            JsonNode value;
            if (!parseValue(&value, depth + 1, error))
                return false;
            node->members.append({key, std::move(value)});
            node->keyPositions.append({keyLine, keyColumn});
            skipWhitespace();
            if (peek() == ',') {
                advance();
                skipWhitespace();
                if (peek() == '}')
                    return fail(error, QStringLiteral("trailing comma before '}'"));
                continue;
            }
            if (peek() == '}') {
                advance();
                return true;
            }
            return fail(error, QStringLiteral("expected ',' or '}' but found %1").arg(currentChar()));
        }
    }

    const QByteArray &m_text;
    qsizetype m_pos = 0;
    int m_line = 1;
    int m_column = 1;
};

} // namespace

QString JsonNode::typeName() const
{
    switch (type) {
    case Type::Null: return QStringLiteral("null");
    case Type::Bool: return QStringLiteral("boolean");
    case Type::Number: return integral ? QStringLiteral("integer") : QStringLiteral("number");
    case Type::String: return QStringLiteral("string");
    case Type::Array: return QStringLiteral("array");
    case Type::Object: return QStringLiteral("object");
    }
    return {};
}

bool parseJson(const QByteArray &text, JsonNode *out, JsonSyntaxError *error)
{
    QByteArray body = text;
    int bomSkip = 0;
    if (body.startsWith("\xEF\xBB\xBF"))
        bomSkip = 3;
    const QByteArray view = body.mid(bomSkip);
    Parser parser(view);
    return parser.parseDocument(out, error);
}

} // namespace vega
