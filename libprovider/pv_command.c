/* pv_command.c -- a command's life: init, clear and, for adapters, its
 * request object (pv_domain.h, provider.h). */
#include "provider.h"

#include <string.h>

#include "pv_json.h"

void pv_command_init(pv_command *cmd)
{
    memset(cmd, 0, sizeof(*cmd));
}

void pv_command_clear(pv_command *cmd)
{
    json_object_put(cmd->request);
    pv_command_init(cmd);
}

int pv_command_request(const pv_command *cmd, json_object **obj, pv_error *err)
{
    char d[128];
    if (cmd->request == NULL || !json_object_is_type(cmd->request, json_type_object)) {
        pv_json_describe(cmd->request, d, sizeof(d));
        return pv_error_set(err, PV_ETYPE, "request",
                            "request: expected an object of %s parameters, got %s",
                            cmd->provider != NULL ? cmd->provider->name : "provider", d);
    }
    *obj = cmd->request;
    return PV_OK;
}
