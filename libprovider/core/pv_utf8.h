/* pv_utf8.h -- UTF-8 at the boundary: the library's one decoder, validator
 * and cutter, and the text classes that quoting needs.
 *
 * DESIGN
 * Text enters from commands, provider answers, headers and settings. Avro
 * strings and JSON text must be UTF-8, so text that is not would make an
 * event unencodable; a result that cannot be encoded must never be the
 * reason a command goes unanswered (a paid call is still SUCCEEDED). Text a
 * peer sends is therefore checked where it enters: commands are refused
 * naming the field, provider text is carried with each byte that is not
 * UTF-8 replaced by U+FFFD, and the result says how many were replaced.
 *
 * The decoder is strict (RFC 3629): overlong forms, surrogates, code points
 * past U+10FFFF and truncated sequences are not UTF-8.
 */
#ifndef PV_UTF8_H
#define PV_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Decodes one UTF-8 sequence at s[0..len) (len >= 1): its length (1-4), the
 * code point in *cp; 0 when the bytes there are not UTF-8. */
size_t pv_utf8_next(const unsigned char *s, size_t len, uint32_t *cp);

/* 1 when s[0..len) is UTF-8 throughout. */
int pv_utf8_valid(const char *s, size_t len);

/* Where the first byte that is not UTF-8 is, or len when there is none. */
size_t pv_utf8_bad_at(const char *s, size_t len);

/* The longest prefix of s[0..len) of at most max bytes that ends on a
 * sequence boundary (never cuts a character in two). */
size_t pv_utf8_cut(const char *s, size_t len, size_t max);

/* Copies src[0..len) into dst (cap >= 1), cut with pv_utf8_cut when it does
 * not fit, and NUL-terminates it; src may lie inside dst (memmove) and may be
 * NULL when len is 0. Returns the bytes copied. */
size_t pv_utf8_copy(char *dst, size_t cap, const char *src, size_t len);

/* True for a control character: C0 (NUL included), DEL and C1. */
int pv_utf8_control(uint32_t cp);

/* The value of one hexadecimal digit (0-9, a-f, A-F), -1 for any other
 * character. */
int pv_utf8_hex_digit(int c);

/* Makes the NUL-terminated string in buf[0..cap) UTF-8 in place: each byte
 * that is not UTF-8 becomes U+FFFD; what no longer fits is cut at a
 * character. Returns how many bytes were replaced (0: unchanged). */
size_t pv_utf8_fix(char *buf, size_t cap);

/* A malloc'd copy of s[0..len) with each byte that is not UTF-8 replaced by
 * U+FFFD, NUL-terminated, its length in *out_len; *replaced counts the
 * replacements. NULL when out of memory. */
char *pv_utf8_repair(const char *s, size_t len, size_t *out_len, size_t *replaced);

/* Writes a printable, bounded quotation of the bytes s[0..len) into buf:
 * control characters and quotes are escaped, and text past `max` bytes is
 * cut with "..." so that hostile input cannot flood a log line. */
void pv_utf8_quote(char *buf, size_t cap, const char *s, size_t len);

#endif
