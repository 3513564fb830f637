/* test_isbank_spec.c -- the İş Bankası adapter against seed 003 and
 * PROVIDERS.md: the service object (spec) and validation of commands against
 * it. The payment, the token and the answers: test_isbank.c. */
#include "test_isbank.h"

/*---- The service object ----*/

static const char *const seed_spec_json =
    "{\"service_id\": 10065, \"input_fields\": ["
    " {\"name\": \"OnBehalfOf\", \"required\": false, \"items\": ["
    "   {\"key\": \"K\", \"value\": \"Kendi adıma\"}, {\"key\": \"B\", \"value\": \"Başkası "
    "adına\"}]},"
    " {\"name\": \"SubscriberName\", \"required\": true, \"type\": \"Alphanumeric\","
    "  \"min_length\": 1, \"max_length\": 100},"
    " {\"name\": \"Tckn_Vkn_Ykn\", \"required\": true, \"type\": \"Numeric\","
    "  \"min_length\": 11, \"max_length\": 11},"
    " {\"name\": \"Address\", \"required\": false, \"input_fields\": ["
    "   {\"name\": \"Country\", \"required\": true, \"type\": \"Alphanumeric\", \"min_length\": 1,"
    "    \"max_length\": 100},"
    "   {\"name\": \"Province\", \"required\": true, \"type\": \"Alphanumeric\", \"min_length\": 1,"
    "    \"max_length\": 20},"
    "   {\"name\": \"District\", \"required\": false, \"type\": \"Alphanumeric\", \"min_length\": "
    "1,"
    "    \"max_length\": 20},"
    "   {\"name\": \"Quarter\", \"required\": false, \"type\": \"Alphanumeric\", \"min_length\": 1,"
    "    \"max_length\": 20},"
    "   {\"name\": \"PostalCode\", \"required\": false, \"type\": \"Alphanumeric\", "
    "\"min_length\": 1,"
    "    \"max_length\": 10},"
    "   {\"name\": \"AddressText\", \"required\": true, \"type\": \"Alphanumeric\", "
    "\"min_length\": 1,"
    "    \"max_length\": 60}]},"
    " {\"name\": \"Email\", \"required\": false, \"type\": \"Alphanumeric\", \"min_length\": 3,"
    "  \"max_length\": 100},"
    " {\"name\": \"PhoneNumber\", \"required\": false, \"type\": \"Alphanumeric\", "
    "\"min_length\": 10,"
    "  \"max_length\": 10},"
    " {\"name\": \"CellPhone\", \"required\": false, \"type\": \"Alphanumeric\", \"min_length\": "
    "10,"
    "  \"max_length\": 10},"
    " {\"name\": \"Description\", \"required\": false, \"type\": \"Alphanumeric\", "
    "\"min_length\": 1,"
    "  \"max_length\": 100}],"
    " \"amount_ranges\": ["
    "  {\"currency_code\": \"TRY\", \"min_value\": 900.00, \"max_value\": 999999999999.00},"
    "  {\"currency_code\": \"USD\", \"min_value\": 295.00, \"max_value\": 999999999999.00},"
    "  {\"currency_code\": \"EUR\", \"min_value\": 265.00, \"max_value\": 999999999999.00}],"
    " \"decimal_fraction_allowed\": true}";

/* The seed's service object parses into exactly these fields: the string
 * "true"/"false" and "100" quirks read as booleans and integers, "\n " as
 * no value, the {"items": []} placeholders dropped, Address a group. */
static void test_isbank_spec_seed_parses_exactly(void **state)
{
    (void)state;
    void *spec = isbank_seed_spec(false);
    isbank_assert_spec(spec, seed_spec_json);
    pv_isbank.free_spec(spec);

    spec = isbank_seed_spec(true);
    json_object *o = pv_isbank_spec_to_json(spec);
    assert_false(json_object_get_boolean(pv_json_member(o, "decimal_fraction_allowed")));
    json_object_put(o);
    pv_isbank.free_spec(spec);

    assert_null(pv_isbank_spec_to_json(NULL));
    pv_isbank.free_spec(NULL);
}

/* The quirks one by one, in a small service object. */
static void test_isbank_spec_quirks(void **state)
{
    (void)state;
    pv_error err = {0};
    const char *text =
        "{\"data\": {\"service_id\": \"77\", \"free_collection_query_specs\": {\"input_fields\": ["
        " {\"items\": []},"
        " {\"name\": \"A\", \"required\": \"true\", \"parameter_type\": \"numeric\","
        "  \"parameter_length\": {\"min\": \"2\", \"max\": 4}, \"regex\": \"^[0-9]+$\","
        "  \"input_fields\": [{\"items\": []}, {\"name\": \"\\n \"}]},"
        " {\"name\": \"B\", \"required\": \"\\n \", \"parameter_type\": \" \\t\","
        "  \"parameter_length\": \"\\n \", \"items\": [{\"key\": \"\\n \"}, {\"key\": 1}]},"
        " {\"name\": \"C\", \"required\": false, \"parameter_length\": {\"min\": \"\\n \"}},"
        " {\"name\": \"G\", \"required\": true, \"input_fields\": ["
        "   {\"name\": \"G1\", \"required\": \"false\"}, {\"items\": []}]}"
        "]}, \"amount_input\": {\"decimal_fraction_allowed\": \"false\", \"amount_limitations\": "
        "{\"amount_range\": [{\"currency_code\": \"TRY\", \"min_value\": \"10.5\", \"max_value\": "
        "\"\\n \"}, {\"currency_code\": \"XAU\", \"min_value\": 1}]}}}}";
    void *spec = isbank_spec_from(text, &err);
    if (spec == NULL)
        fail_msg("quirks spec: %s", err.errstr);
    isbank_assert_spec(
        spec, "{\"service_id\": 77, \"input_fields\": ["
              " {\"name\": \"A\", \"required\": true, \"type\": \"Numeric\", \"min_length\": 2,"
              "  \"max_length\": 4},"
              " {\"name\": \"B\", \"required\": false, \"items\": [{\"key\": \"1\", \"value\": "
              "\"\"}]},"
              " {\"name\": \"C\", \"required\": false},"
              " {\"name\": \"G\", \"required\": true, \"input_fields\": ["
              "   {\"name\": \"G1\", \"required\": false}]}],"
              " \"amount_ranges\": [{\"currency_code\": \"TRY\", \"min_value\": 10.50},"
              "  {\"currency_code\": \"XAU\"}],"
              " \"decimal_fraction_allowed\": false}");
    pv_isbank.free_spec(spec);

    /* no amount_input and no fields at all: nothing is constrained */
    spec = isbank_spec_from("{\"data\": {}}", &err);
    assert_non_null(spec);
    isbank_assert_spec(spec, "{\"input_fields\": [], \"amount_ranges\": [], "
                             "\"decimal_fraction_allowed\": true}");
    pv_isbank.free_spec(spec);
}

static void test_isbank_spec_errors(void **state)
{
    (void)state;
    static const struct {
        int status;
        const char *body;
        int code;
        const char *field;
        const char *quoted; /* the message must contain it */
    } cases[] = {
        {401, "{\"infos\": [{\"code\": \"401\", \"message\": \"Unauthorized\"}]}", PV_ECONFIG,
         "http_status", "Unauthorized"},
        {403, "", PV_ECONFIG, "http_status", "403"},
        {404, "{\"infos\": [{\"code\": \"BIS404\", \"message\": \"Servis bulunamadı\"}]}",
         PV_ERANGE, "http_status", "Servis bulunamadı"},
        {500, "oops", PV_EUNAVAILABLE, "http_status", "500"},
        {503, "{\"httpCode\": \"503\", \"moreInformation\": \"Backend down\"}", PV_EUNAVAILABLE,
         "http_status", "Backend down"},
        {200, "", PV_EPARSE, "", "empty"},
        {200, "<html>", PV_EPARSE, "", "invalid JSON"},
        {200, "[]", PV_ETYPE, "", "array"},
        {200, "{}", PV_EMISSING, "data", NULL},
        {200, "{\"data\": []}", PV_ETYPE, "data", NULL},
        {200, "{\"infos\": [{\"code\": \"E17\", \"message\": \"Kapalı\"}]}", PV_EUNSUPPORTED,
         "infos", "E17"},
        {200, "{\"infos\": [{\"message\": \"no code\"}], \"data\": {}}", PV_EMISSING,
         "infos[0].code", NULL},
        {200, "{\"data\": {\"service_id\": -5}}", PV_ERANGE, "data.service_id", "-5"},
        {200,
         "{\"data\": {\"free_collection_query_specs\": {\"input_fields\": {\"input_fields\": "
         "{}}}}}",
         PV_ETYPE, "data.free_collection_query_specs.input_fields", NULL},
        {200,
         "{\"data\": {\"free_collection_query_specs\": {\"input_fields\": [{\"name\": \"A\", "
         "\"parameter_type\": \"Date\"}]}}}",
         PV_EUNSUPPORTED, "data.free_collection_query_specs.input_fields[0].parameter_type",
         "Date"},
        {200,
         "{\"data\": {\"free_collection_query_specs\": {\"input_fields\": [{\"name\": \"A\", "
         "\"parameter_length\": {\"min\": \"abc\"}}]}}}",
         PV_EFORMAT, "data.free_collection_query_specs.input_fields[0].parameter_length.min",
         "abc"},
        {200,
         "{\"data\": {\"free_collection_query_specs\": {\"input_fields\": [{\"name\": \"A\", "
         "\"parameter_length\": {\"min\": -1}}]}}}",
         PV_ERANGE, "data.free_collection_query_specs.input_fields[0].parameter_length.min", "-1"},
        {200,
         "{\"data\": {\"free_collection_query_specs\": {\"input_fields\": [{\"name\": \"A\", "
         "\"parameter_length\": {\"min\": \"5\", \"max\": \"3\"}}]}}}",
         PV_ERANGE, "data.free_collection_query_specs.input_fields[0].parameter_length", "5"},
        {200,
         "{\"data\": {\"free_collection_query_specs\": {\"input_fields\": [{\"name\": \"A\", "
         "\"required\": \"yes\"}]}}}",
         PV_ETYPE, "data.free_collection_query_specs.input_fields[0].required", "yes"},
        {200,
         "{\"data\": {\"free_collection_query_specs\": {\"input_fields\": [{\"name\": \"A\"}, "
         "{\"name\": \"G\", \"input_fields\": [{\"name\": \"A\"}]}]}}}",
         PV_EFORMAT, "data.free_collection_query_specs.input_fields[1].input_fields[0].name",
         "\"A\""},
        {200,
         "{\"data\": {\"free_collection_query_specs\": {\"input_fields\": [{\"name\": \"G\", "
         "\"input_fields\": [{\"name\": \"H\", \"input_fields\": [{\"name\": \"I\"}]}]}]}}}",
         PV_EUNSUPPORTED,
         "data.free_collection_query_specs.input_fields[0].input_fields[0].input_fields[0]",
         "nested"},
        {200,
         "{\"data\": {\"free_collection_query_specs\": {\"input_fields\": [{\"name\": \"A\", "
         "\"items\": {}}]}}}",
         PV_ETYPE, "data.free_collection_query_specs.input_fields[0].items", NULL},
        {200,
         "{\"data\": {\"free_collection_query_specs\": {\"input_fields\": [{\"name\": \"A\", "
         "\"items\": [{\"key\": \"K\"}, {\"key\": \"K\"}]}]}}}",
         PV_EFORMAT, "data.free_collection_query_specs.input_fields[0].items[1].key", "K"},
        {200, "{\"data\": {\"amount_input\": {\"amount_limitations\": {\"amount_range\": 5}}}}",
         PV_ETYPE, "data.amount_input.amount_limitations.amount_range", NULL},
        {200,
         "{\"data\": {\"amount_input\": {\"amount_limitations\": {\"amount_range\": "
         "[{\"currency_code\": \"eur\"}]}}}}",
         PV_EFORMAT, "data.amount_input.amount_limitations.amount_range[0].currency_code", "eur"},
        {200,
         "{\"data\": {\"amount_input\": {\"amount_limitations\": {\"amount_range\": "
         "[{\"currency_code\": \"EUR\"}, {\"currency_code\": \"EUR\"}]}}}}",
         PV_EFORMAT, "data.amount_input.amount_limitations.amount_range[1].currency_code", "EUR"},
        {200,
         "{\"data\": {\"amount_input\": {\"amount_limitations\": {\"amount_range\": "
         "[{\"currency_code\": \"EUR\", \"min_value\": 1e3}]}}}}",
         PV_EFORMAT, "data.amount_input.amount_limitations.amount_range[0].min_value", "1e3"},
        {200,
         "{\"data\": {\"amount_input\": {\"amount_limitations\": {\"amount_range\": "
         "[{\"currency_code\": \"EUR\", \"min_value\": 1.005}]}}}}",
         PV_EFORMAT, "data.amount_input.amount_limitations.amount_range[0].min_value", "1.005"},
        {200,
         "{\"data\": {\"amount_input\": {\"amount_limitations\": {\"amount_range\": "
         "[{\"currency_code\": \"EUR\", \"min_value\": 10, \"max_value\": 5}]}}}}",
         PV_ERANGE, "data.amount_input.amount_limitations.amount_range[0]", "10"},
        {200, "{\"data\": {\"amount_input\": {\"decimal_fraction_allowed\": 1}}}", PV_ETYPE,
         "data.amount_input.decimal_fraction_allowed", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        pv_error err = {0};
        void *spec =
            pv_isbank.parse_spec(cases[i].status, cases[i].body, strlen(cases[i].body), &err);
        if (spec != NULL) {
            pv_isbank.free_spec(spec);
            fail_msg("case %zu: parsed, want %s", i, pv_error_name(cases[i].code));
        }
        if (err.code != cases[i].code || strcmp(err.field, cases[i].field) != 0)
            fail_msg("case %zu: %s on \"%s\" (%s), want %s on \"%s\"", i, pv_error_name(err.code),
                     err.field, err.errstr, pv_error_name(cases[i].code), cases[i].field);
        if (cases[i].quoted != NULL && strstr(err.errstr, cases[i].quoted) == NULL)
            fail_msg("case %zu: message \"%s\" does not quote %s", i, err.errstr, cases[i].quoted);
        pv_error_clear(&err);
    }
}

/* Bounded: past ISBANK_FIELDS_MAX fields or ISBANK_ITEMS_MAX items the spec
 * is refused, never cut. */
static void test_isbank_spec_bounds(void **state)
{
    (void)state;
    static char text[64 * 1024];
    pv_error err = {0};

    for (int nfields = 48; nfields <= 49; nfields++) {
        size_t o =
            (size_t)snprintf(text, sizeof(text),
                             "{\"data\": {\"free_collection_query_specs\": {\"input_fields\": [");
        for (int i = 0; i < nfields; i++)
            o += (size_t)snprintf(text + o, sizeof(text) - o, "%s{\"name\": \"F%d\"}",
                                  i > 0 ? ", " : "", i);
        snprintf(text + o, sizeof(text) - o, "]}}}");
        void *spec = isbank_spec_from(text, &err);
        if (nfields == 48) {
            assert_non_null(spec);
            pv_isbank.free_spec(spec);
        } else {
            assert_null(spec);
            assert_int_equal(err.code, PV_ETOOBIG);
            assert_string_equal(err.field, "data.free_collection_query_specs.input_fields[48]");
        }
    }
    for (int nitems = 128; nitems <= 129; nitems++) {
        size_t o =
            (size_t)snprintf(text, sizeof(text),
                             "{\"data\": {\"free_collection_query_specs\": {\"input_fields\": "
                             "[{\"name\": \"E\", \"items\": [");
        for (int i = 0; i < nitems; i++)
            o += (size_t)snprintf(text + o, sizeof(text) - o, "%s{\"key\": \"k%d\"}",
                                  i > 0 ? ", " : "", i);
        snprintf(text + o, sizeof(text) - o, "]}]}}}");
        void *spec = isbank_spec_from(text, &err);
        if (nitems == 128) {
            assert_non_null(spec);
            pv_isbank.free_spec(spec);
        } else {
            assert_null(spec);
            assert_int_equal(err.code, PV_ETOOBIG);
        }
    }
    pv_error_clear(&err);
}

static void test_isbank_spec_key_and_request(void **state)
{
    (void)state;
    pv_command cmd;
    pv_request req;
    pv_error err = {0};
    char key[32];
    const pv_ctx ctx = isbank_ctx(NULL);

    tu_command(&cmd, &pv_isbank, "{\"service_id\": 10065, \"payment_reference\": \"R-1\"}");
    assert_int_equal(pv_isbank.spec_key(&cmd, key, sizeof(key), &err), PV_OK);
    assert_string_equal(key, "10065");
    assert_int_equal(pv_isbank.build_spec_request(&cmd, &ctx, &req, &err), PV_OK);
    assert_string_equal(req.method, "GET");
    assert_string_equal(req.path, "/api/isbank/v1/bill-institution-services/10065");
    assert_int_equal(req.nheaders, 4);
    assert_string_equal(pv_request_header(&req, "X-IBM-client-id"), "client-id-1");
    assert_string_equal(pv_request_header(&req, "X-IBM-client-secret"), "client-secret-1");
    assert_string_equal(pv_request_header(&req, "Authorization"), "Bearer " ISBANK_TOKEN);
    assert_string_equal(pv_request_header(&req, "Accept"), "application/json");
    assert_null(pv_request_header(&req, "Content-Type"));
    assert_null(req.body);
    pv_request_clear(&req);

    /* the token is needed for the spec too */
    const pv_ctx no_token = {.settings = isbank_settings};
    assert_int_equal(pv_isbank.build_spec_request(&cmd, &no_token, &req, &err), PV_ECONFIG);
    assert_string_equal(err.field, "Authorization");
    pv_command_clear(&cmd);

    tu_command(&cmd, &pv_isbank, "{\"service_id\": \"10065\"}");
    assert_int_equal(pv_isbank.spec_key(&cmd, key, sizeof(key), &err), PV_OK);
    assert_string_equal(key, "10065");
    assert_int_equal(pv_isbank.spec_key(&cmd, key, 3, &err), PV_ETOOBIG);
    pv_command_clear(&cmd);

    static const struct {
        const char *request;
        int code;
    } bad[] = {
        {"{}", PV_EMISSING},
        {"{\"service_id\": 0}", PV_ERANGE},
        {"{\"service_id\": 1.5}", PV_ETYPE},
        {"{\"service_id\": \"10065/../x\"}", PV_EFORMAT},
        {"[]", PV_ETYPE},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        tu_command(&cmd, &pv_isbank, bad[i].request);
        assert_int_equal(pv_isbank.spec_key(&cmd, key, sizeof(key), &err), bad[i].code);
        assert_int_equal(pv_isbank.build_spec_request(&cmd, &ctx, &req, &err), bad[i].code);
        assert_int_equal(req.nheaders, 0);
        pv_command_clear(&cmd);
    }
}

static void test_isbank_valid_commands(void **state)
{
    (void)state;
    char name100[512], district[128], item[1024];
    isbank_turkish(name100, sizeof(name100), 5, ""); /* 100 code points, 125 bytes */
    assert_int_equal(strlen(name100), 125);
    snprintf(district, sizeof(district),
             "{\"name\": \"District\", \"value\": \"Kadıköy Moda Çarşısı\"}"); /* 20 cp */
    static const struct {
        const char *amount, *currency, *extra_basic, *selected;
        bool whole_only;
    } cases[] = {
        {"265", "EUR", "", "", false},          /* the EUR minimum exactly */
        {"\"900\"", "TRY", "", SELF, false},    /* TRY minimum, as a string */
        {"900.01", "TRY", "", "", false},       /* fractions allowed */
        {"999999999999", "USD", "", "", false}, /* the maximum exactly */
        {"295.00", "USD", "", "", true},        /* whole, though written .00 */
        {"265", "EUR", ", " NAME, "", false},   /* placeholder replaced below */
        {"265", "EUR", ", {\"name\": \"Email\", \"value\": \"   \"}", "", false}, /* blank */
        {"265", "EUR", "",
         "{\"name\": \"OnBehalfOf\", \"selected_item\": {\"key\": \"B\", \"value\": \"Başkası "
         "adına\"}}",
         false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        pv_command cmd;
        pv_request req;
        pv_error err = {0};
        char basic[2048];
        void *spec = isbank_seed_spec(cases[i].whole_only);
        const pv_ctx ctx = isbank_ctx(spec);
        if (i == 5) {
            /* Turkish text counted in code points at the max-length boundary,
             * and a full Address group with a 20-code-point District */
            snprintf(item, sizeof(item), "{\"name\": \"SubscriberName\", \"value\": \"%s\"}",
                     name100);
            snprintf(basic, sizeof(basic),
                     "%s, " TCKN ", {\"name\": \"Country\", \"value\": \"Türkiye\"}, "
                     "{\"name\": \"Province\", \"value\": \"İzmir\"}, %s, "
                     "{\"name\": \"AddressText\", \"value\": \"Kordon Boyu\"}",
                     item, district);
        } else {
            snprintf(basic, sizeof(basic), "%s%s", BASIC_OK, cases[i].extra_basic);
        }
        isbank_cmd(&cmd, cases[i].amount, cases[i].currency, basic, cases[i].selected);
        if (pv_isbank.build_request(&cmd, &ctx, &req, &err) != PV_OK)
            fail_msg("case %zu: %s", i, err.errstr);
        assert_null(err.detail);
        pv_request_clear(&req);
        pv_command_clear(&cmd);
        pv_isbank.free_spec(spec);
    }
}

/*---- Validation against the spec: every error collected ----*/

typedef struct isbank_expect {
    const char *field;
    const char *value; /* NULL: no value in the entry */
    const char *error; /* substring */
} isbank_expect;

static void test_isbank_field_errors(void **state)
{
    (void)state;
    char name101[512], long_name[1024];
    isbank_turkish(name101, sizeof(name101), 5, "ş"); /* 101 code points */
    snprintf(long_name, sizeof(long_name), "{\"name\": \"SubscriberName\", \"value\": \"%s\"}",
             name101);

    static struct {
        const char *what;
        const char *amount, *currency, *basic, *selected;
        bool whole_only;
        const char *first_path;
        size_t n;
        isbank_expect e[8];
    } cases[] = {
        {"missing SubscriberName",
         "265",
         "EUR",
         TCKN,
         "",
         false,
         "request.basic_input_values.SubscriberName",
         1,
         {{"SubscriberName", NULL, "required field is missing"}}},
        {"blank SubscriberName",
         "265",
         "EUR",
         TCKN ", {\"name\": \"SubscriberName\", \"value\": \" \\n\"}",
         "",
         false,
         "request.basic_input_values.SubscriberName",
         1,
         {{"SubscriberName", NULL, "required field is missing"}}},
        {"Tckn with letters",
         "265",
         "EUR",
         NAME ", {\"name\": \"Tckn_Vkn_Ykn\", \"value\": \"1000000014A\"}",
         "",
         false,
         "request.basic_input_values.Tckn_Vkn_Ykn",
         1,
         {{"Tckn_Vkn_Ykn", "1000000014A", "must be digits only (Numeric)"}}},
        {"Tckn with 10 digits",
         "265",
         "EUR",
         NAME ", {\"name\": \"Tckn_Vkn_Ykn\", \"value\": \"1000000014\"}",
         "",
         false,
         "request.basic_input_values.Tckn_Vkn_Ykn",
         1,
         {{"Tckn_Vkn_Ykn", "1000000014", "length 10 is below the minimum 11"}}},
        {"Tckn 123: two rules broken",
         "265",
         "EUR",
         NAME ", {\"name\": \"Tckn_Vkn_Ykn\", \"value\": \"12a\"}",
         "",
         false,
         "request.basic_input_values.Tckn_Vkn_Ykn",
         2,
         {{"Tckn_Vkn_Ykn", "12a", "length 3 is below the minimum 11"},
          {"Tckn_Vkn_Ykn", "12a", "digits only"}}},
        {"OnBehalfOf X",
         "265",
         "EUR",
         BASIC_OK,
         "{\"name\": \"OnBehalfOf\", \"selected_item\": {\"key\": \"X\", \"value\": \"?\"}}",
         false,
         "request.selected_input_values.OnBehalfOf",
         1,
         {{"OnBehalfOf", "X", "is not one of the keys K, B"}}},
        {"OnBehalfOf as a basic value",
         "265",
         "EUR",
         BASIC_OK ", {\"name\": \"OnBehalfOf\", \"value\": \"K\"}",
         "",
         false,
         "request.basic_input_values.OnBehalfOf",
         1,
         {{"OnBehalfOf", "K",
           "is an enumerated field: give it in selected_input_values with one "
           "of the keys K, B"}}},
        {"SubscriberName as a selection",
         "265",
         "EUR",
         TCKN,
         "{\"name\": \"SubscriberName\", \"selected_item\": {\"key\": \"K\"}}",
         false,
         "request.selected_input_values.SubscriberName",
         1,
         {{"SubscriberName", "K", "is not an enumerated field"}}},
        {"OnBehalfOf label contradicts its key",
         "265",
         "EUR",
         BASIC_OK,
         "{\"name\": \"OnBehalfOf\", \"selected_item\": {\"key\": \"K\", \"value\": \"Başkası "
         "adına\"}}",
         false,
         "request.selected_input_values.OnBehalfOf",
         1,
         {{"OnBehalfOf", "Başkası adına", "does not match the label \"Kendi adıma\" of key K"}}},
        {"Address child without AddressText",
         "265",
         "EUR",
         BASIC_OK ", {\"name\": \"Country\", \"value\": \"Türkiye\"}, {\"name\": \"Province\", "
                  "\"value\": \"Ankara\"}",
         "",
         false,
         "request.basic_input_values.AddressText",
         1,
         {{"AddressText", NULL, "required field of the Address group is missing"}}},
        {"only District of the Address",
         "265",
         "EUR",
         BASIC_OK ", {\"name\": \"District\", \"value\": \"Çankaya\"}",
         "",
         false,
         "request.basic_input_values.Country",
         3,
         {{"Country", NULL, "Address group"},
          {"Province", NULL, "Address group"},
          {"AddressText", NULL, "Address group"}}},
        {"Address given a value",
         "265",
         "EUR",
         BASIC_OK ", {\"name\": \"Address\", \"value\": \"Moda Cad. 1\"}",
         "",
         false,
         "request.basic_input_values.Address",
         1,
         {{"Address", "Moda Cad. 1",
           "is a group: give its fields (Country, Province, District, "
           "Quarter, PostalCode, AddressText)"}}},
        {"unknown input name",
         "265",
         "EUR",
         BASIC_OK ", {\"name\": \"Foo\", \"value\": \"bar\"}",
         "",
         false,
         "request.basic_input_values.Foo",
         1,
         {{"Foo", "bar", "is not an input field of service 10065"}}},
        {"a field given twice",
         "265",
         "EUR",
         BASIC_OK ", " NAME,
         "",
         false,
         "request.basic_input_values.SubscriberName",
         1,
         {{"SubscriberName", "Ayşe Yılmaz", "is given twice"}}},
        {"amount 100 TRY below the minimum 900",
         "100",
         "TRY",
         BASIC_OK,
         "",
         false,
         "request.amount",
         1,
         {{"amount", "100", "100.00 TRY is below the minimum 900.00 TRY"}}},
        {"amount 264.99 EUR just below",
         "264.99",
         "EUR",
         BASIC_OK,
         "",
         false,
         "request.amount",
         1,
         {{"amount", "264.99", "below the minimum 265.00 EUR"}}},
        {"amount above the maximum",
         "1000000000000",
         "USD",
         BASIC_OK,
         "",
         false,
         "request.amount",
         1,
         {{"amount", "1000000000000", "is above the maximum 999999999999.00 USD"}}},
        {"currency GBP not listed",
         "500",
         "GBP",
         BASIC_OK,
         "",
         false,
         "request.currency_code",
         1,
         {{"currency_code", "GBP", "is not accepted by service 10065 (accepted: TRY, USD, EUR)"}}},
        {"265.5 when fractions are not allowed",
         "265.5",
         "EUR",
         BASIC_OK,
         "",
         true,
         "request.amount",
         1,
         {{"amount", "265.5", "has a decimal fraction; service 10065 takes whole amounts only"}}},
        {"Turkish text: 101 code points",
         "265",
         "EUR",
         NULL,
         "",
         false,
         "request.basic_input_values.SubscriberName",
         1,
         {{"SubscriberName", NULL, "length 101 is above the maximum 100"}}},
        {"District of 21 code points",
         "265",
         "EUR",
         BASIC_OK ", {\"name\": \"Country\", \"value\": \"Türkiye\"}, {\"name\": \"Province\", "
                  "\"value\": \"İzmir\"}, {\"name\": \"AddressText\", \"value\": \"X\"}, "
                  "{\"name\": \"District\", \"value\": \"Kadıköy Moda Çarşısıı\"}",
         "",
         false,
         "request.basic_input_values.District",
         1,
         {{"District", "Kadıköy Moda Çarşısıı", "length 21 is above the maximum 20"}}},
        {"Email too short",
         "265",
         "EUR",
         BASIC_OK ", {\"name\": \"Email\", \"value\": \"a@\"}",
         "",
         false,
         "request.basic_input_values.Email",
         1,
         {{"Email", "a@", "length 2 is below the minimum 3"}}},
        {"control character",
         "265",
         "EUR",
         BASIC_OK ", {\"name\": \"Description\", \"value\": \"a\\u0007b\"}",
         "",
         false,
         "request.basic_input_values.Description",
         1,
         {{"Description", "a\\x07b", "contains a control character"}}},
        {"everything at once",
         "100",
         "TRY",
         "{\"name\": \"Tckn_Vkn_Ykn\", \"value\": \"1000000014\"}, {\"name\": \"Country\", "
         "\"value\": \"Türkiye\"}, {\"name\": \"Foo\", \"value\": \"1\"}",
         "{\"name\": \"OnBehalfOf\", \"selected_item\": {\"key\": \"X\"}}",
         false,
         "request.basic_input_values.Tckn_Vkn_Ykn",
         7,
         {{"Tckn_Vkn_Ykn", "1000000014", "below the minimum 11"},
          {"Foo", "1", "is not an input field"},
          {"OnBehalfOf", "X", "is not one of the keys"},
          {"SubscriberName", NULL, "required field is missing"},
          {"Province", NULL, "Address group"},
          {"AddressText", NULL, "Address group"},
          {"amount", "100", "below the minimum 900.00 TRY"}}},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        pv_command cmd;
        pv_request req;
        pv_error err = {0};
        void *spec = isbank_seed_spec(cases[i].whole_only);
        const pv_ctx ctx = isbank_ctx(spec);
        char basic[2048];
        snprintf(basic, sizeof(basic), "%s, %s",
                 cases[i].basic != NULL ? cases[i].basic : long_name, TCKN);
        if (cases[i].basic != NULL)
            snprintf(basic, sizeof(basic), "%s", cases[i].basic);
        isbank_cmd(&cmd, cases[i].amount, cases[i].currency, basic, cases[i].selected);

        int rc = pv_isbank.build_request(&cmd, &ctx, &req, &err);
        if (rc != PV_EVALIDATION)
            fail_msg("%s: rc %s (%s), want EVALIDATION", cases[i].what, pv_error_name(rc),
                     err.errstr);
        assert_int_equal(req.nheaders, 0);
        assert_null(req.body);
        if (strcmp(err.field, cases[i].first_path) != 0)
            fail_msg("%s: err.field %s, want %s", cases[i].what, err.field, cases[i].first_path);
        assert_non_null(strstr(err.errstr, cases[i].first_path));
        if (cases[i].e[0].value != NULL) {
            char q[300];
            snprintf(q, sizeof(q), "\"%s\"", cases[i].e[0].value);
            if (strstr(err.errstr, q) == NULL)
                fail_msg("%s: errstr \"%s\" does not quote %s", cases[i].what, err.errstr, q);
        }
        assert_null(strstr(err.errstr, "client-secret-1"));

        json_object *list = pv_json_member(err.detail, "field_errors");
        assert_non_null(list);
        if (json_object_array_length(list) != cases[i].n)
            fail_msg("%s: %zu field errors, want %zu: %s", cases[i].what,
                     json_object_array_length(list), cases[i].n, pv_json_dump(err.detail, NULL));
        for (size_t k = 0; k < cases[i].n; k++) {
            json_object *e = json_object_array_get_idx(list, k);
            const isbank_expect *x = &cases[i].e[k];
            json_object *value = pv_json_member(e, "value");
            const char *field = json_object_get_string(pv_json_member(e, "field"));
            const char *error = json_object_get_string(pv_json_member(e, "error"));
            if (strcmp(field, x->field) != 0 || strstr(error, x->error) == NULL)
                fail_msg("%s: error %zu is %s: \"%s\", want %s: \"%s\"", cases[i].what, k, field,
                         error, x->field, x->error);
            if (x->value == NULL && k == 0 && cases[i].basic == NULL)
                continue; /* the 101-code-point value: quoted but cut */
            if (x->value == NULL)
                assert_null(value);
            else
                assert_string_equal(json_object_get_string(value), x->value);
        }
        assert_null(pv_json_member(err.detail, "more"));
        pv_error_clear(&err);
        assert_null(err.detail);
        pv_command_clear(&cmd);
        pv_isbank.free_spec(spec);
    }
}

/* The list is bounded: past 32 errors the rest is only counted. */
static void test_isbank_field_errors_bounded(void **state)
{
    (void)state;
    char basic[8192];
    size_t o = (size_t)snprintf(basic, sizeof(basic), "%s", BASIC_OK);
    for (int i = 0; i < 40; i++)
        o += (size_t)snprintf(basic + o, sizeof(basic) - o,
                              ", {\"name\": \"X%d\", \"value\": \"v\"}", i);
    pv_command cmd;
    pv_request req;
    pv_error err = {0};
    void *spec = isbank_seed_spec(false);
    const pv_ctx ctx = isbank_ctx(spec);
    isbank_cmd(&cmd, "265", "EUR", basic, "");
    assert_int_equal(pv_isbank.build_request(&cmd, &ctx, &req, &err), PV_EVALIDATION);
    assert_int_equal(json_object_array_length(pv_json_member(err.detail, "field_errors")), 32);
    assert_int_equal(json_object_get_int64(pv_json_member(err.detail, "more")), 8);
    assert_non_null(strstr(err.errstr, "40 field errors in all"));
    pv_error_clear(&err);
    pv_command_clear(&cmd);
    pv_isbank.free_spec(spec);
}

/*---- The command's own shape ----*/

static void test_isbank_rejects_bad_commands(void **state)
{
    (void)state;
    char long_ref[128], many[8192], big_value[1200];
    memset(long_ref, 'R', 65);
    long_ref[65] = '\0';
    size_t o = (size_t)snprintf(many, sizeof(many), "[");
    for (int i = 0; i < 65; i++)
        o += (size_t)snprintf(many + o, sizeof(many) - o, "%s{\"name\": \"N\", \"value\": \"v\"}",
                              i > 0 ? ", " : "");
    snprintf(many + o, sizeof(many) - o, "]");
    memset(big_value, 'v', 1025);
    big_value[1025] = '\0';

#define HEAD  "\"service_id\": 10065, \"payment_reference\": \"R-1\", "
#define MONEY "\"amount\": 265, \"currency_code\": \"EUR\""
    static char dyn[3][9000];
    snprintf(dyn[0], sizeof(dyn[0]),
             "{\"service_id\": 10065, \"payment_reference\": \"%s\", " MONEY "}", long_ref);
    snprintf(dyn[1], sizeof(dyn[1]), "{" HEAD MONEY ", \"basic_input_values\": %s}", many);
    snprintf(dyn[2], sizeof(dyn[2]),
             "{" HEAD MONEY ", \"basic_input_values\": [{\"name\": \"N\", \"value\": \"%s\"}]}",
             big_value);

    const struct {
        const char *request;
        int code;
        const char *field;
        const char *quoted;
    } cases[] = {
        {"{}", PV_EMISSING, "request.service_id", NULL},
        {"[1]", PV_ETYPE, "request", NULL},
        {"{\"service_id\": \"abc\"}", PV_EFORMAT, "request.service_id", "abc"},
        {"{\"service_id\": -1}", PV_ERANGE, "request.service_id", "-1"},
        {"{\"service_id\": 1.5}", PV_ETYPE, "request.service_id", "1.5"},
        {"{\"service_id\": 10065, " MONEY "}", PV_EMISSING, "request.payment_reference", NULL},
        {"{\"service_id\": 10065, \"payment_reference\": 42, " MONEY "}", PV_ETYPE,
         "request.payment_reference", "42"},
        {"{\"service_id\": 10065, \"payment_reference\": \"\", " MONEY "}", PV_EFORMAT,
         "request.payment_reference", NULL},
        {"{\"service_id\": 10065, \"payment_reference\": \"R 1\", " MONEY "}", PV_EFORMAT,
         "request.payment_reference", "R 1"},
        {"{\"service_id\": 10065, \"payment_reference\": \"R-1\\n\", " MONEY "}", PV_EFORMAT,
         "request.payment_reference", "R-1"},
        {"{\"service_id\": 10065, \"payment_reference\": \"Rş\", " MONEY "}", PV_EFORMAT,
         "request.payment_reference", "Rş"},
        {dyn[0], PV_ETOOBIG, "request.payment_reference", "RRRR"},
        {"{" HEAD "\"amount\": 265}", PV_EMISSING, "request.currency_code", NULL},
        {"{" HEAD "\"amount\": 265, \"currency_code\": \"eur\"}", PV_ECURRENCY,
         "request.currency_code", "eur"},
        {"{" HEAD "\"amount\": 265, \"currency_code\": \"XYZ\"}", PV_ECURRENCY,
         "request.currency_code", "XYZ"},
        {"{" HEAD "\"amount\": 265, \"currency_code\": \"EURO\"}", PV_ETOOBIG,
         "request.currency_code", "EURO"},
        {"{" HEAD "\"currency_code\": \"EUR\"}", PV_EMISSING, "request.amount", NULL},
        {"{" HEAD "\"amount\": \"1e3\", \"currency_code\": \"EUR\"}", PV_EFORMAT, "request.amount",
         "1e3"},
        {"{" HEAD "\"amount\": 1e3, \"currency_code\": \"EUR\"}", PV_EFORMAT, "request.amount",
         "1e3"},
        {"{" HEAD "\"amount\": 265.555, \"currency_code\": \"EUR\"}", PV_EFORMAT, "request.amount",
         "265.555"},
        {"{" HEAD "\"amount\": \"12,5\", \"currency_code\": \"EUR\"}", PV_EFORMAT, "request.amount",
         "12,5"},
        {"{" HEAD "\"amount\": \"0265\", \"currency_code\": \"EUR\"}", PV_EFORMAT, "request.amount",
         "0265"},
        {"{" HEAD "\"amount\": 0, \"currency_code\": \"EUR\"}", PV_ERANGE, "request.amount", "0"},
        {"{" HEAD "\"amount\": -265, \"currency_code\": \"EUR\"}", PV_ERANGE, "request.amount",
         "-265"},
        {"{" HEAD "\"amount\": 123456789012345678901234567890, \"currency_code\": \"EUR\"}",
         PV_ERANGE, "request.amount", NULL},
        {"{" HEAD "\"amount\": true, \"currency_code\": \"EUR\"}", PV_ETYPE, "request.amount",
         "true"},
        {"{" HEAD MONEY ", \"query_flow_id\": {}}", PV_ETYPE, "request.query_flow_id", "{}"},
        {"{" HEAD MONEY ", \"query_flow_id\": \"a\\u0001\"}", PV_EFORMAT, "request.query_flow_id",
         "a"},
        {"{" HEAD MONEY ", \"query_flow_id\": -3}", PV_ETYPE, "request.query_flow_id", "-3"},
        {"{" HEAD MONEY ", \"basic_input_values\": {}}", PV_ETYPE, "request.basic_input_values",
         "{}"},
        {"{" HEAD MONEY ", \"basic_input_values\": [\"x\"]}", PV_ETYPE,
         "request.basic_input_values[0]", "x"},
        {"{" HEAD MONEY ", \"basic_input_values\": [{\"value\": \"v\"}]}", PV_EMISSING,
         "request.basic_input_values[0].name", NULL},
        {"{" HEAD MONEY ", \"basic_input_values\": [{\"name\": \"\", \"value\": \"v\"}]}",
         PV_EFORMAT, "request.basic_input_values[0].name", NULL},
        {"{" HEAD MONEY ", \"basic_input_values\": [{\"name\": \"SubscriberName\"}]}", PV_EMISSING,
         "request.basic_input_values[0].value", NULL},
        {"{" HEAD MONEY ", \"basic_input_values\": [{\"name\": \"Tckn_Vkn_Ykn\", \"value\": "
         "10000000146}]}",
         PV_ETYPE, "request.basic_input_values[0].value", "10000000146"},
        {dyn[1], PV_ETOOBIG, "request.basic_input_values", "65"},
        {dyn[2], PV_ETOOBIG, "request.basic_input_values[0].value", "1025"},
        {"{" HEAD MONEY ", \"selected_input_values\": [{\"name\": \"OnBehalfOf\"}]}", PV_EMISSING,
         "request.selected_input_values[0].selected_item", NULL},
        {"{" HEAD MONEY ", \"selected_input_values\": [{\"name\": \"OnBehalfOf\", "
         "\"selected_item\": \"K\"}]}",
         PV_ETYPE, "request.selected_input_values[0].selected_item", "K"},
        {"{" HEAD MONEY ", \"selected_input_values\": [{\"name\": \"OnBehalfOf\", "
         "\"selected_item\": {\"value\": \"x\"}}]}",
         PV_EMISSING, "request.selected_input_values[0].selected_item.key", NULL},
        {"{" HEAD MONEY ", \"selected_input_values\": [{\"name\": \"OnBehalfOf\", "
         "\"selected_item\": {\"key\": 1}}]}",
         PV_ETYPE, "request.selected_input_values[0].selected_item.key", "1"},
    };
#undef HEAD
#undef MONEY
    void *spec = isbank_seed_spec(false);
    const pv_ctx ctx = isbank_ctx(spec);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        pv_command cmd;
        pv_request req;
        pv_error err = {0};
        tu_command(&cmd, &pv_isbank, cases[i].request);
        int rc = pv_isbank.build_request(&cmd, &ctx, &req, &err);
        if (rc != cases[i].code || strcmp(err.field, cases[i].field) != 0)
            fail_msg("case %zu %.80s: %s on %s (%s), want %s on %s", i, cases[i].request,
                     pv_error_name(rc), err.field, err.errstr, pv_error_name(cases[i].code),
                     cases[i].field);
        assert_non_null(strstr(err.errstr, cases[i].field));
        if (cases[i].quoted != NULL && strstr(err.errstr, cases[i].quoted) == NULL)
            fail_msg("case %zu: message \"%s\" does not quote %s", i, err.errstr, cases[i].quoted);
        assert_null(err.detail);
        assert_int_equal(req.nheaders, 0);
        pv_command_clear(&cmd);
    }
    pv_isbank.free_spec(spec);
}

/* What the worker must hand in: the spec, the token, the credentials. */
int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_isbank_spec_seed_parses_exactly),
        cmocka_unit_test(test_isbank_spec_quirks),
        cmocka_unit_test(test_isbank_spec_errors),
        cmocka_unit_test(test_isbank_spec_bounds),
        cmocka_unit_test(test_isbank_spec_key_and_request),
        cmocka_unit_test(test_isbank_valid_commands),
        cmocka_unit_test(test_isbank_field_errors),
        cmocka_unit_test(test_isbank_field_errors_bounded),
        cmocka_unit_test(test_isbank_rejects_bad_commands),
    };
    return cmocka_run_group_tests_name("isbank_spec", tests, NULL, NULL);
}
