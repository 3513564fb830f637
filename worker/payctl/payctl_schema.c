/* payctl_schema.c -- payctl schema: the Avro schemas compiled into payctl
 * (schemas/embed.c), as the worker has them. */
#include "payctl.h"

#include <string.h>

#include "sc_avro.h"

int payctl_schema(int argc, char **argv)
{
    if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        printf("usage: payctl schema [command|result|balance]\n"
               "Prints the embedded Avro schema (all three, one per line, without KIND).\n");
        return 0;
    }
    for (int k = 0; k < SC_KIND__COUNT; k++) {
        if (argc > 1 && sc_kind_from_name(argv[1]) != k)
            continue;
        size_t len;
        const char *text = sc_schema_text((sc_kind)k, &len);
        fwrite(text, 1, len, stdout);
        if (len > 0 && text[len - 1] != '\n')
            putchar('\n');
    }
    if (argc > 1 && sc_kind_from_name(argv[1]) < 0) {
        fprintf(stderr, "payctl schema: \"%s\": expected command, result or balance\n", argv[1]);
        return 2;
    }
    return 0;
}
