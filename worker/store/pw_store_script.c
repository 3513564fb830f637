/* pw_store_script.c -- the store's Lua scripts by PW_SCRIPT_*: their names
 * and their text. Each is a file, worker/store/scripts/<name>.lua (with its
 * KEYS and ARGV in a header comment; it runs by hand with redis-cli --eval),
 * compiled in at build time by schemas/embed.c into $(BUILD)/gen/pw_store_lua.c
 * (pw_store_lua_<name>[]): what runs is exactly what is in the repository. */
#include "pw_store_int.h"

const char *const pw_store_script_name[PW_SCRIPT_COUNT] = {"claim",   "extend", "finish",  "record",
                                                           "resolve", "lookup", "unknowns"};

extern const char pw_store_lua_claim[], pw_store_lua_extend[], pw_store_lua_finish[],
    pw_store_lua_record[], pw_store_lua_resolve[], pw_store_lua_lookup[], pw_store_lua_unknowns[];

const char *const pw_store_lua[PW_SCRIPT_COUNT] = {
    pw_store_lua_claim,   pw_store_lua_extend, pw_store_lua_finish,  pw_store_lua_record,
    pw_store_lua_resolve, pw_store_lua_lookup, pw_store_lua_unknowns};
