/* sc_frame.c -- the Confluent wire format: magic byte 0, the schema id as
 * 4 bytes big-endian, then the Avro body (sc_codec.h). */
#include "sc_codec_int.h"

#include <stdlib.h>

/*---- Framing ----*/

int32_t sc_frame_id(const void *buf, size_t len)
{
    const unsigned char *p = buf;
    if (len < 5 || p[0] != 0)
        return -1;
    return (int32_t)((uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 |
                     (uint32_t)p[4]);
}

int sc_frame_write(avro_value_t *value, int32_t id, char **out, size_t *out_len, pv_error *err)
{
    size_t size;
    if (avro_value_sizeof(value, &size) != 0)
        return pv_error_set(err, PV_EUNSUPPORTED, "", "Avro encode: %s", avro_strerror());
    char *buf = malloc(size + 5);
    if (buf == NULL)
        return pv_error_set(err, PV_ENOMEM, "", "Avro encode: out of memory");
    buf[0] = 0;
    buf[1] = (char)((uint32_t)id >> 24);
    buf[2] = (char)((uint32_t)id >> 16);
    buf[3] = (char)((uint32_t)id >> 8);
    buf[4] = (char)id;
    avro_writer_t w = avro_writer_memory(buf + 5, (int64_t)size);
    int rc = avro_value_write(w, value);
    avro_writer_free(w);
    if (rc != 0) {
        free(buf);
        return pv_error_set(err, PV_EUNSUPPORTED, "", "Avro encode: %s", avro_strerror());
    }
    *out = buf;
    *out_len = size + 5;
    return PV_OK;
}
