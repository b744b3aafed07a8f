/* eventstream_native._json: is a payload JSON that Postgres's JSONB will take?
 *
 * The core checks every event's payload before it queues it, so that one bad event is refused
 * at once instead of failing a writer's whole batch. Python's json module answered that by
 * building the whole value (1.5 µs for a 70-byte object); this only reads it.
 *
 * Accepted: exactly what json.loads accepts from the UTF-8 text (RFC 8259: any value at the
 * top, strict strings, no NaN or Infinity, lone surrogate escapes allowed as Python allows
 * them), except a \u0000 escape, which JSONB cannot hold, and nesting deeper than MAX_DEPTH.
 * tests/unit/native_layer/test_json_check.py holds it to json.loads.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <string.h>

#define MAX_DEPTH 1000
/* Payloads up to this size are read with the GIL held: releasing it costs more than reading. */
#define RELEASE_GIL_FROM 16384

typedef struct {
    const unsigned char *start;
    const unsigned char *p;
    const unsigned char *end;
    const char *error; /* a static message, or NULL */
} Scanner;

static int
fail(Scanner *s, const char *message)
{
    if (s->error == NULL) {
        s->error = message;
    }
    return -1;
}

static void
skip_whitespace(Scanner *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r')) {
        s->p++;
    }
}

static int
is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static int
is_continuation(const Scanner *s, const unsigned char *p)
{
    return p < s->end && (*p & 0xC0) == 0x80;
}

/* One multi-byte UTF-8 character at s->p, as strict as Python's decoder: no overlong forms, no
 * surrogates, nothing above U+10FFFF. */
static int
utf8_character(Scanner *s)
{
    const unsigned char *p = s->p;
    unsigned char c = p[0];
    unsigned char lo = 0x80, hi = 0xBF; /* the range allowed for the second byte */
    int length;
    if (c >= 0xC2 && c <= 0xDF) {
        length = 2;
    }
    else if (c >= 0xE0 && c <= 0xEF) {
        length = 3;
        if (c == 0xE0) {
            lo = 0xA0;
        }
        else if (c == 0xED) {
            hi = 0x9F;
        }
    }
    else if (c >= 0xF0 && c <= 0xF4) {
        length = 4;
        if (c == 0xF0) {
            lo = 0x90;
        }
        else if (c == 0xF4) {
            hi = 0x8F;
        }
    }
    else {
        return fail(s, "invalid UTF-8");
    }
    if (s->end - p < length || p[1] < lo || p[1] > hi) {
        return fail(s, "invalid UTF-8");
    }
    for (int i = 2; i < length; i++) {
        if (!is_continuation(s, p + i)) {
            return fail(s, "invalid UTF-8");
        }
    }
    s->p += length;
    return 0;
}

static int
hex_digit(unsigned char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

static int
string(Scanner *s)
{
    s->p++; /* the opening quote */
    while (s->p < s->end) {
        unsigned char c = *s->p;
        if (c == '"') {
            s->p++;
            return 0;
        }
        if (c == '\\') {
            if (s->end - s->p < 2) {
                break;
            }
            switch (s->p[1]) {
            case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
                s->p += 2;
                break;
            case 'u': {
                if (s->end - s->p < 6) {
                    return fail(s, "invalid \\u escape");
                }
                int value = 0;
                for (int i = 2; i < 6; i++) {
                    int digit = hex_digit(s->p[i]);
                    if (digit < 0) {
                        return fail(s, "invalid \\u escape");
                    }
                    value = value * 16 + digit;
                }
                if (value == 0) {
                    return fail(s, "\\u0000, which JSONB cannot hold");
                }
                s->p += 6;
                break;
            }
            default:
                return fail(s, "invalid escape");
            }
        }
        else if (c < 0x20) {
            return fail(s, "control character in a string");
        }
        else if (c < 0x80) {
            s->p++;
        }
        else if (utf8_character(s) < 0) {
            return -1;
        }
    }
    return fail(s, "unterminated string");
}

static int
digits(Scanner *s)
{
    if (s->p >= s->end || !is_digit(*s->p)) {
        return fail(s, "invalid number");
    }
    while (s->p < s->end && is_digit(*s->p)) {
        s->p++;
    }
    return 0;
}

static int
number(Scanner *s)
{
    if (*s->p == '-') {
        s->p++;
    }
    if (s->p < s->end && *s->p == '0') {
        s->p++; /* a leading zero stands alone: "01" is a 0 followed by garbage */
    }
    else if (digits(s) < 0) {
        return -1;
    }
    if (s->p < s->end && *s->p == '.') {
        s->p++;
        if (digits(s) < 0) {
            return -1;
        }
    }
    if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
        s->p++;
        if (s->p < s->end && (*s->p == '+' || *s->p == '-')) {
            s->p++;
        }
        if (digits(s) < 0) {
            return -1;
        }
    }
    return 0;
}

static int
literal(Scanner *s, const char *word, Py_ssize_t length)
{
    if (s->end - s->p < length || memcmp(s->p, word, (size_t)length) != 0) {
        return fail(s, "expected a value");
    }
    s->p += length;
    return 0;
}

static int value(Scanner *s, int depth);

/* An object or an array, s->p at its opening bracket. */
static int
container(Scanner *s, int depth, unsigned char close)
{
    if (depth > MAX_DEPTH) {
        return fail(s, "nested deeper than 1000 levels");
    }
    s->p++;
    skip_whitespace(s);
    if (s->p < s->end && *s->p == close) {
        s->p++;
        return 0;
    }
    for (;;) {
        if (close == '}') {
            skip_whitespace(s);
            if (s->p >= s->end || *s->p != '"') {
                return fail(s, "expected a key in double quotes");
            }
            if (string(s) < 0) {
                return -1;
            }
            skip_whitespace(s);
            if (s->p >= s->end || *s->p != ':') {
                return fail(s, "expected ':'");
            }
            s->p++;
        }
        if (value(s, depth) < 0) {
            return -1;
        }
        skip_whitespace(s);
        if (s->p < s->end && *s->p == ',') {
            s->p++;
            continue;
        }
        if (s->p < s->end && *s->p == close) {
            s->p++;
            return 0;
        }
        return fail(s, close == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static int
value(Scanner *s, int depth)
{
    skip_whitespace(s);
    if (s->p >= s->end) {
        return fail(s, "expected a value");
    }
    switch (*s->p) {
    case '{':
        return container(s, depth + 1, '}');
    case '[':
        return container(s, depth + 1, ']');
    case '"':
        return string(s);
    case 't':
        return literal(s, "true", 4);
    case 'f':
        return literal(s, "false", 5);
    case 'n':
        return literal(s, "null", 4);
    default:
        if (*s->p == '-' || is_digit(*s->p)) {
            return number(s);
        }
        return fail(s, "expected a value");
    }
}

static void
scan(Scanner *s)
{
    if (value(s, 0) == 0) {
        skip_whitespace(s);
        if (s->p != s->end) {
            fail(s, "extra data after the value");
        }
    }
}

PyDoc_STRVAR(json_problem_doc,
"json_problem(data, /)\n--\n\n"
"Why the UTF-8 bytes `data` are not one JSON value JSONB will take, or None when they are.");

static PyObject *
json_problem(PyObject *Py_UNUSED(module), PyObject *arg)
{
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    Scanner s = {view.buf, view.buf, (const unsigned char *)view.buf + view.len, NULL};
    if (view.len >= RELEASE_GIL_FROM) {
        Py_BEGIN_ALLOW_THREADS
        scan(&s);
        Py_END_ALLOW_THREADS
    }
    else {
        scan(&s);
    }
    PyBuffer_Release(&view);
    if (s.error == NULL) {
        Py_RETURN_NONE;
    }
    return PyUnicode_FromFormat("%s at byte %zd", s.error, (Py_ssize_t)(s.p - s.start));
}

static PyMethodDef json_methods[] = {
    {"json_problem", json_problem, METH_O, json_problem_doc},
    {NULL, NULL, 0, NULL},
};

static PyModuleDef_Slot json_slots[] = {
    {0, NULL},
};

static struct PyModuleDef json_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "eventstream_native._json",
    .m_doc = "Checks that a payload is JSON Postgres's JSONB will take, without building it.",
    .m_size = 0,
    .m_methods = json_methods,
    .m_slots = json_slots,
};

PyMODINIT_FUNC
PyInit__json(void)
{
    return PyModuleDef_Init(&json_module);
}
