/* eventstream_native._frames: the events of a PUBLISH_BATCH frame's body (docs/protocol.md).
 *
 * The core's event loop decodes every batch it is sent; in Python that loop was a third of the
 * loop's time. This is the same loop, with the same checks in the same order and the same
 * messages as eventstream.protocol.codec.decode_publish_batch, which stays the reference (the
 * client and the tests use it): tests/unit/eventstream_core/test_frames.py holds the two to
 * each other.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>

#define ENTRY_HEAD 7   /* priority (1), topic length (1), key length (1), payload length (4) */
#define ULID_BYTES 26
#define MAX_PRIORITY 9
/* NackCode values (eventstream.protocol.constants) */
#define NACK_INVALID 2
#define NACK_TOO_LARGE 3

/* Raises ValueError(code, message): the caller turns it into a FrameError for its request. */
static PyObject *
refuse(int code, PyObject *message)
{
    if (message != NULL) {
        PyObject *args = Py_BuildValue("(iN)", code, message);
        if (args != NULL) {
            PyErr_SetObject(PyExc_ValueError, args);
            Py_DECREF(args);
        }
    }
    return NULL;
}

/* Crockford base32, upper case, first character 0-7: a ULID as eventstream.events.ids has it. */
static int
is_ulid(const unsigned char *p)
{
    if (p[0] < '0' || p[0] > '7') {
        return 0;
    }
    for (int i = 1; i < ULID_BYTES; i++) {
        unsigned char c = p[i];
        int ok = (c >= '0' && c <= '9') ||
                 (c >= 'A' && c <= 'Z' && c != 'I' && c != 'L' && c != 'O' && c != 'U');
        if (!ok) {
            return 0;
        }
    }
    return 1;
}

/* The UTF-8 text at p, or NULL with the refusal set ("batch entry <i> <what> is not UTF-8"). */
static PyObject *
text(const unsigned char *p, Py_ssize_t length, Py_ssize_t index, const char *what)
{
    PyObject *value = PyUnicode_DecodeUTF8((const char *)p, length, "strict");
    if (value == NULL && PyErr_ExceptionMatches(PyExc_UnicodeDecodeError)) {
        PyErr_Clear();
        refuse(NACK_INVALID,
               PyUnicode_FromFormat("batch entry %zd %s is not UTF-8", index, what));
    }
    return value;
}

PyDoc_STRVAR(batch_entries_doc,
"batch_entries(body, start, count, with_ids, max_payload, /)\n--\n\n"
"The `count` events of a PUBLISH_BATCH body from byte `start`, each a tuple\n"
"(topic, payload, priority, idempotency_key, event_id); event_id is \"\" without ids.\n"
"ValueError(nack_code, message) for the first thing wrong, as the Python codec words it.");

static PyObject *
batch_entries(PyObject *Py_UNUSED(module), PyObject *args)
{
    Py_buffer view;
    Py_ssize_t pos, count, max_payload;
    int with_ids;
    if (!PyArg_ParseTuple(args, "y*nnpn:batch_entries", &view, &pos, &count, &with_ids,
                          &max_payload)) {
        return NULL;
    }
    const unsigned char *body = view.buf;
    const Py_ssize_t size = view.len;
    const Py_ssize_t fixed = ENTRY_HEAD + (with_ids ? ULID_BYTES : 0);
    PyObject *entries = NULL;
    if (pos < 0 || count < 0 || pos > size) {
        PyErr_SetString(PyExc_ValueError, "start or count out of range");
        goto done;
    }
    entries = PyList_New(count);
    if (entries == NULL) {
        goto done;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        if (size - pos < fixed) {
            refuse(NACK_INVALID, PyUnicode_FromFormat("batch entry %zd runs past the frame's end", i));
            goto fail;
        }
        const unsigned char *head = body + pos;
        int priority = head[0];
        Py_ssize_t topic_length = head[1], key_length = head[2];
        Py_ssize_t payload_length = ((Py_ssize_t)head[3] << 24) | ((Py_ssize_t)head[4] << 16) |
                                    ((Py_ssize_t)head[5] << 8) | (Py_ssize_t)head[6];
        if (with_ids && !is_ulid(head + ENTRY_HEAD)) {
            refuse(NACK_INVALID, PyUnicode_FromFormat("batch entry %zd id is not a ULID", i));
            goto fail;
        }
        Py_ssize_t topic_at = pos + fixed;
        Py_ssize_t key_at = topic_at + topic_length;
        Py_ssize_t payload_at = key_at + key_length;
        /* payload_length < 2^32 and size < 2^63: no overflow on a 64-bit Py_ssize_t */
        if (payload_at > size || size - payload_at < payload_length) {
            refuse(NACK_INVALID, PyUnicode_FromFormat("batch entry %zd runs past the frame's end", i));
            goto fail;
        }
        pos = payload_at + payload_length;
        if (payload_length > max_payload) {
            refuse(NACK_TOO_LARGE,
                   PyUnicode_FromFormat("batch entry %zd: payload is %zd bytes; at most %zd", i,
                                        payload_length, max_payload));
            goto fail;
        }
        if (priority > MAX_PRIORITY) {
            refuse(NACK_INVALID,
                   PyUnicode_FromFormat("batch entry %zd: priority %d is not 0-9", i, priority));
            goto fail;
        }
        PyObject *topic = text(body + topic_at, topic_length, i, "topic");
        if (topic == NULL) {
            goto fail;
        }
        PyObject *key = text(body + key_at, key_length, i, "idempotency key");
        if (key == NULL) {
            Py_DECREF(topic);
            goto fail;
        }
        PyObject *event_id = with_ids
            ? PyUnicode_DecodeASCII((const char *)head + ENTRY_HEAD, ULID_BYTES, "strict")
            : PyUnicode_FromStringAndSize(NULL, 0);
        PyObject *payload =
            PyBytes_FromStringAndSize((const char *)body + payload_at, payload_length);
        PyObject *prio = PyLong_FromLong(priority);
        PyObject *entry = NULL;
        if (event_id != NULL && payload != NULL && prio != NULL) {
            entry = PyTuple_Pack(5, topic, payload, prio, key, event_id);
        }
        Py_DECREF(topic);
        Py_DECREF(key);
        Py_XDECREF(event_id);
        Py_XDECREF(payload);
        Py_XDECREF(prio);
        if (entry == NULL) {
            goto fail;
        }
        PyList_SET_ITEM(entries, i, entry);
    }
    if (pos != size) {
        refuse(NACK_INVALID,
               PyUnicode_FromFormat("batch frame has %zd bytes after its last entry", size - pos));
        goto fail;
    }
    goto done;
fail:
    Py_CLEAR(entries);
done:
    PyBuffer_Release(&view);
    return entries;
}

static PyMethodDef frames_methods[] = {
    {"batch_entries", batch_entries, METH_VARARGS, batch_entries_doc},
    {NULL, NULL, 0, NULL},
};

static PyModuleDef_Slot frames_slots[] = {
    {0, NULL},
};

static struct PyModuleDef frames_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "eventstream_native._frames",
    .m_doc = "The events of a PUBLISH_BATCH frame, decoded for the core's event loop.",
    .m_size = 0,
    .m_methods = frames_methods,
    .m_slots = frames_slots,
};

PyMODINIT_FUNC
PyInit__frames(void)
{
    return PyModuleDef_Init(&frames_module);
}
