-- A generic JSON Schema validator in PL/pgSQL, written for the benchmark
-- (validation_alone.sql): bench.jsonschema_is_valid_plpgsql(schema, doc)
-- interprets a schema given as jsonb, as the PL/pgSQL JSON Schema validators
-- that people install do, instead of rules written out by hand for each type
-- (validation_plpgsql.sql). Written from scratch for this benchmark.
--
-- Draft 2020-12 semantics, for the keywords that the extension's C engine
-- also implements:
--   type (a name or an array of names; "integer": a number without fraction,
--   7.0 included), enum, const (JSON equality: 1 = 1.0, objects regardless of
--   key order), minLength/maxLength (in code points), pattern (a regular
--   expression searched anywhere in the string, PostgreSQL's ARE syntax under
--   the C collation, as the C engine does), format (asserted: date-time, date,
--   time, uuid, ipv4, ipv6, email, uri; any other format is an error, as the
--   C engine refuses it), minimum, maximum, exclusiveMinimum, exclusiveMaximum,
--   multipleOf, required, properties, patternProperties, additionalProperties
--   (boolean or schema), propertyNames, minProperties, maxProperties,
--   dependentRequired, dependentSchemas, prefixItems, items, contains,
--   minContains, maxContains, minItems, maxItems, uniqueItems, allOf, anyOf,
--   oneOf, not, if/then/else, $ref to a JSON pointer inside the schema ("#",
--   "#/$defs/name", ...), $defs; boolean schemas. Annotations ($schema, $id,
--   title, description, default, examples, ...) and unknown keywords are
--   ignored. Not implemented: unevaluatedProperties, unevaluatedItems,
--   $anchor, $dynamicRef and references to other documents (the C engine
--   refuses them too).
--
-- Written to be reasonably fast rather than to look slow: one recursive
-- function, which returns false at the first violation; a keyword is looked
-- at only when the instance has the type it applies to; every test is a
-- PL/pgSQL "simple expression", without a query: arrays are walked by index,
-- and so are an object's members, over the array of their keys (jsonpath
-- $.keyvalue().key; the usual loop over jsonb_each(), one query per object,
-- took 12% longer on the benchmark's documents). Only enum on an object or
-- an array, uniqueItems, dependentRequired and dependentSchemas run a query.
-- It does not say why a document is invalid.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

CREATE SCHEMA IF NOT EXISTS bench;

-- --- formats ------------------------------------------------------------------

-- RFC 3339 full-date: YYYY-MM-DD, a day that exists
CREATE FUNCTION bench.jsonschema_date_ok_plpgsql(s text)
RETURNS boolean
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    y int;
    m int;
    d int;
BEGIN
    IF s !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' THEN
        RETURN false;
    END IF;
    y := substr(s, 1, 4)::int;
    m := substr(s, 6, 2)::int;
    d := substr(s, 9, 2)::int;
    IF m NOT BETWEEN 1 AND 12 OR d < 1 THEN
        RETURN false;
    END IF;
    RETURN d <= CASE WHEN m = 2 THEN CASE WHEN (y % 4 = 0 AND y % 100 <> 0) OR y % 400 = 0 THEN 29 ELSE 28 END
                     WHEN m IN (4, 6, 9, 11) THEN 30
                     ELSE 31 END;
END;
$$;

-- RFC 3339 full-time: HH:MM:SS[.frac](Z|+HH:MM|-HH:MM); a leap second (:60)
-- only at 23:59 UTC
CREATE FUNCTION bench.jsonschema_time_ok_plpgsql(s text)
RETURNS boolean
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    p text[];
    h int;
    mi int;
    sec int;
    oh int := 0;
    om int := 0;
    sign int := 0;
BEGIN
    p := regexp_match(s, '^([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?([Zz]|([+-])([0-9]{2}):([0-9]{2}))$');
    IF p IS NULL THEN
        RETURN false;
    END IF;
    h := p[1]::int;
    mi := p[2]::int;
    sec := p[3]::int;
    IF p[6] IS NOT NULL THEN
        sign := CASE p[6] WHEN '+' THEN 1 ELSE -1 END;
        oh := p[7]::int;
        om := p[8]::int;
    END IF;
    IF h > 23 OR mi > 59 OR sec > 60 OR oh > 23 OR om > 59 THEN
        RETURN false;
    END IF;
    IF sec = 60 THEN
        RETURN (((h * 60 + mi - sign * (oh * 60 + om)) % 1440) + 1440) % 1440 = 23 * 60 + 59;
    END IF;
    RETURN true;
END;
$$;

-- dotted quad, each part 0-255 without leading zeros
CREATE FUNCTION bench.jsonschema_ipv4_ok_plpgsql(s text)
RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN s ~ '^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$';

-- RFC 4291 text form: 8 groups of 1-4 hex digits, or fewer with one "::";
-- the last two groups may be written as a dotted quad
CREATE FUNCTION bench.jsonschema_ipv6_ok_plpgsql(s text)
RETURNS boolean
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    last_colon int;
    halves text[];
    groups int := 0;
    half text;
BEGIN
    IF strpos(s, '.') > 0 THEN
        -- a dotted quad after the last colon stands for two groups
        last_colon := length(s) - strpos(reverse(s), ':') + 1;
        IF strpos(s, ':') = 0 OR NOT bench.jsonschema_ipv4_ok_plpgsql(substr(s, last_colon + 1)) THEN
            RETURN false;
        END IF;
        s := left(s, last_colon) || '0:0';
    END IF;
    IF s !~ '^[0-9A-Fa-f:]+$' OR strpos(s, ':::') > 0 THEN
        RETURN false;
    END IF;
    halves := string_to_array(s, '::');
    IF array_length(halves, 1) = 1 THEN
        RETURN s ~ '^[0-9A-Fa-f]{1,4}(:[0-9A-Fa-f]{1,4}){7}$';
    ELSIF array_length(halves, 1) > 2 THEN
        RETURN false;
    END IF;
    FOREACH half IN ARRAY halves LOOP
        IF half <> '' THEN
            IF half !~ '^[0-9A-Fa-f]{1,4}(:[0-9A-Fa-f]{1,4})*$' THEN
                RETURN false;
            END IF;
            groups := groups + length(half) - length(replace(half, ':', '')) + 1;
        END IF;
    END LOOP;
    RETURN groups <= 7;
END;
$$;

-- a DNS host name: labels of letters, digits and hyphens (not first or last),
-- at most 63 characters each, 253 in all
CREATE FUNCTION bench.jsonschema_hostname_ok_plpgsql(s text)
RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN length(s) <= 253
   AND s ~ '^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$';

-- RFC 5321 mailbox, simplified: a dot-atom or a quoted local part (printable
-- ASCII, backslash escapes), "@", a host name or an address literal
-- ([192.0.2.1], [IPv6:...]); the local part ends at the last "@"
CREATE FUNCTION bench.jsonschema_email_ok_plpgsql(s text)
RETURNS boolean
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    at int := strpos(reverse(s), '@');
    local text;
    domain text;
BEGIN
    IF at = 0 THEN
        RETURN false;
    END IF;
    local := left(s, length(s) - at);
    domain := right(s, at - 1);
    IF local = '' OR domain = '' THEN
        RETURN false;
    END IF;
    IF left(local, 1) = '"' THEN
        IF length(local) < 2 OR right(local, 1) <> '"'
           OR substr(local, 2, length(local) - 2) !~ '^([ !#-\[\]-~]|\\[\x01-\x7f])*\\?$' THEN
            RETURN false;
        END IF;
    ELSIF local !~ '^[A-Za-z0-9!#$%&''*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&''*+/=?^_`{|}~-]+)*$' THEN
        RETURN false;
    END IF;
    IF left(domain, 1) = '[' THEN
        IF right(domain, 1) <> ']' OR length(domain) < 2 THEN
            RETURN false;
        ELSIF length(domain) > 7 AND substr(domain, 2, 5) = 'IPv6:' THEN
            RETURN bench.jsonschema_ipv6_ok_plpgsql(substr(domain, 7, length(domain) - 7));
        END IF;
        RETURN bench.jsonschema_ipv4_ok_plpgsql(substr(domain, 2, length(domain) - 2));
    END IF;
    RETURN bench.jsonschema_hostname_ok_plpgsql(domain);
END;
$$;

-- RFC 3986 absolute URI: scheme ":" hier-part ["?" query] ["#" fragment];
-- an authority "//[userinfo@]host[:port]" with a reg-name or an [IPv6] host
CREATE FUNCTION bench.jsonschema_uri_ok_plpgsql(s text)
RETURNS boolean
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    -- pchar classes: unreserved, sub-delims, %XX, plus what each part allows
    chars CONSTANT text := '[A-Za-z0-9._~!$&''()*+,;=-]|%[0-9A-Fa-f]{2}';
    rest text;
    fragment text;
    query text;
    hier text;
    authority text;
    host text;
    port text;
    at int;
    cut int;
BEGIN
    IF s !~ '^[A-Za-z][A-Za-z0-9+.-]*:' THEN
        RETURN false;
    END IF;
    rest := substr(s, strpos(s, ':') + 1);
    cut := strpos(rest, '#');
    IF cut > 0 THEN
        fragment := substr(rest, cut + 1);
        rest := left(rest, cut - 1);
    END IF;
    cut := strpos(rest, '?');
    IF cut > 0 THEN
        query := substr(rest, cut + 1);
        rest := left(rest, cut - 1);
    END IF;
    hier := rest;
    IF left(hier, 2) = '//' THEN
        cut := strpos(substr(hier, 3), '/');
        IF cut > 0 THEN
            authority := substr(hier, 3, cut - 1);
            hier := substr(hier, 3 + cut - 1);
        ELSE
            authority := substr(hier, 3);
            hier := '';
        END IF;
        at := strpos(reverse(authority), '@');
        IF at > 0 THEN
            IF left(authority, length(authority) - at) !~ ('^(' || chars || '|:)*$') THEN
                RETURN false;
            END IF;
            host := right(authority, at - 1);
        ELSE
            host := authority;
        END IF;
        IF left(host, 1) = '[' THEN
            cut := strpos(host, ']');
            IF cut = 0 OR NOT bench.jsonschema_ipv6_ok_plpgsql(substr(host, 2, cut - 2)) THEN
                RETURN false;
            END IF;
            port := substr(host, cut + 1);
        ELSE
            cut := strpos(host, ':');
            IF cut > 0 THEN
                port := substr(host, cut);
                host := left(host, cut - 1);
            ELSE
                port := '';
            END IF;
            IF host !~ ('^(' || chars || ')*$') THEN
                RETURN false;
            END IF;
        END IF;
        IF port <> '' AND port !~ '^:[0-9]*$' THEN
            RETURN false;
        END IF;
    END IF;
    RETURN hier ~ ('^(' || chars || '|[:@/])*$')
       AND (query IS NULL OR query ~ ('^(' || chars || '|[:@/?])*$'))
       AND (fragment IS NULL OR fragment ~ ('^(' || chars || '|[:@/?])*$'));
END;
$$;

CREATE FUNCTION bench.jsonschema_format_ok_plpgsql(format text, s text)
RETURNS boolean
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
BEGIN
    CASE format
    WHEN 'date-time' THEN
        RETURN length(s) > 11 AND substr(s, 11, 1) IN ('T', 't')
           AND bench.jsonschema_date_ok_plpgsql(left(s, 10))
           AND bench.jsonschema_time_ok_plpgsql(substr(s, 12));
    WHEN 'date' THEN
        RETURN bench.jsonschema_date_ok_plpgsql(s);
    WHEN 'time' THEN
        RETURN bench.jsonschema_time_ok_plpgsql(s);
    WHEN 'uuid' THEN
        RETURN s ~ '^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$';
    WHEN 'ipv4' THEN
        RETURN bench.jsonschema_ipv4_ok_plpgsql(s);
    WHEN 'ipv6' THEN
        RETURN bench.jsonschema_ipv6_ok_plpgsql(s);
    WHEN 'email' THEN
        RETURN bench.jsonschema_email_ok_plpgsql(s);
    WHEN 'uri' THEN
        RETURN bench.jsonschema_uri_ok_plpgsql(s);
    ELSE
        RAISE EXCEPTION 'JSON Schema format "%" is not supported', format USING ERRCODE = '0A000';
    END CASE;
END;
$$;

-- --- $ref ---------------------------------------------------------------------

-- The subschema of root that ref ("#", "#/$defs/name", percent-encoded JSON
-- pointer) designates; an error if there is none.
CREATE FUNCTION bench.jsonschema_ref_plpgsql(root jsonb, ref text)
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    p text;
    bytes bytea := '';
    i int := 1;
    tokens text[];
    target jsonb;
BEGIN
    IF left(ref, 1) <> '#' THEN
        RAISE EXCEPTION 'JSON Schema $ref "%": only references within the schema are supported', ref
            USING ERRCODE = '0A000';
    END IF;
    p := substr(ref, 2);
    IF strpos(p, '%') > 0 THEN
        WHILE i <= length(p) LOOP
            IF substr(p, i, 1) = '%' AND substr(p, i + 1, 2) ~ '^[0-9A-Fa-f]{2}$' THEN
                bytes := bytes || decode(substr(p, i + 1, 2), 'hex');
                i := i + 3;
            ELSE
                bytes := bytes || convert_to(substr(p, i, 1), 'UTF8');
                i := i + 1;
            END IF;
        END LOOP;
        p := convert_from(bytes, 'UTF8');
    END IF;
    IF p = '' THEN
        RETURN root;
    ELSIF left(p, 1) <> '/' THEN
        RAISE EXCEPTION 'JSON Schema $ref "%" is not a JSON pointer', ref USING ERRCODE = '0A000';
    END IF;
    SELECT array_agg(replace(replace(t, '~1', '/'), '~0', '~') ORDER BY n)
      INTO tokens
      FROM unnest(string_to_array(substr(p, 2), '/')) WITH ORDINALITY AS u(t, n);
    target := root #> tokens;
    IF target IS NULL OR jsonb_typeof(target) NOT IN ('object', 'boolean') THEN
        RAISE EXCEPTION 'JSON Schema $ref "%" does not designate a schema of this document', ref
            USING ERRCODE = '0A000';
    END IF;
    RETURN target;
END;
$$;

-- --- the validator -------------------------------------------------------------

-- Does doc satisfy the schema s, a subschema of root ($ref resolves against
-- root)? Returns at the first violation.
CREATE FUNCTION bench.jsonschema_node_plpgsql(s jsonb, doc jsonb, root jsonb)
RETURNS boolean
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    t text := jsonb_typeof(doc);    -- object, array, string, number, boolean, null
    str text;
    num numeric;
    n int;                          -- properties or items of doc
    i int;
    j int;
    keys jsonb;                     -- the keys of an object, as a jsonb array
    pattern_keys jsonb;
    pk text;
    k text;
    v jsonb;
    sub jsonb;
    props jsonb;
    pattern_props jsonb;
    additional jsonb;
    names jsonb;
    required jsonb;
    nrequired int := 0;
    prefix jsonb;
    nprefix int;
    items jsonb;
    contains jsonb;
    matches int;
    matched boolean;
BEGIN
    -- boolean schemas
    IF jsonb_typeof(s) <> 'object' THEN
        IF jsonb_typeof(s) = 'boolean' THEN
            RETURN s::boolean;
        END IF;
        RAISE EXCEPTION 'a JSON Schema must be an object or a boolean, not %', s USING ERRCODE = '22023';
    END IF;

    IF s ? '$ref' THEN
        IF NOT bench.jsonschema_node_plpgsql(bench.jsonschema_ref_plpgsql(root, s ->> '$ref'), doc, root) THEN
            RETURN false;
        END IF;
    END IF;

    -- any type
    IF s ? 'type' THEN
        -- jsonb ? matches a string or an element of an array of strings
        IF NOT ((s -> 'type') ? t
                OR (t = 'number' AND (s -> 'type') ? 'integer' AND doc::numeric = trunc(doc::numeric))) THEN
            RETURN false;
        END IF;
    END IF;
    IF s ? 'enum' THEN
        IF t IN ('object', 'array') THEN
            IF NOT EXISTS (SELECT 1 FROM jsonb_array_elements(s -> 'enum') e WHERE e = doc) THEN
                RETURN false;
            END IF;
        -- a scalar: containment is equality (numbers by value, strings byte by byte)
        ELSIF NOT (s -> 'enum') @> jsonb_build_array(doc) THEN
            RETURN false;
        END IF;
    END IF;
    IF s ? 'const' AND (s -> 'const') <> doc THEN
        RETURN false;
    END IF;

    -- the keywords of doc's type
    CASE t
    WHEN 'string' THEN
        IF s ?| '{minLength,maxLength,pattern,format}' THEN
            str := doc #>> '{}';
            IF s ? 'minLength' AND length(str) < (s -> 'minLength')::numeric THEN
                RETURN false;
            END IF;
            IF s ? 'maxLength' AND length(str) > (s -> 'maxLength')::numeric THEN
                RETURN false;
            END IF;
            IF s ? 'pattern' AND (str COLLATE "C") !~ (s ->> 'pattern') THEN
                RETURN false;
            END IF;
            IF s ? 'format' AND NOT bench.jsonschema_format_ok_plpgsql(s ->> 'format', str) THEN
                RETURN false;
            END IF;
        END IF;
    WHEN 'number' THEN
        IF s ?| '{minimum,maximum,exclusiveMinimum,exclusiveMaximum,multipleOf}' THEN
            num := doc::numeric;
            IF (s ? 'minimum' AND num < (s -> 'minimum')::numeric)
               OR (s ? 'maximum' AND num > (s -> 'maximum')::numeric)
               OR (s ? 'exclusiveMinimum' AND num <= (s -> 'exclusiveMinimum')::numeric)
               OR (s ? 'exclusiveMaximum' AND num >= (s -> 'exclusiveMaximum')::numeric)
               OR (s ? 'multipleOf' AND mod(num, (s -> 'multipleOf')::numeric) <> 0) THEN
                RETURN false;
            END IF;
        END IF;
    WHEN 'object' THEN
        IF s ?| '{properties,patternProperties,additionalProperties,propertyNames,required,minProperties,maxProperties}' THEN
            -- one pass over the members, walked by index over the array of
            -- their keys (no query): their subschemas, and the required ones
            -- counted (the elements of "required" are distinct)
            props := s -> 'properties';
            pattern_props := s -> 'patternProperties';
            additional := s -> 'additionalProperties';
            names := s -> 'propertyNames';
            required := s -> 'required';
            keys := jsonb_path_query_array(doc, '$.keyvalue().key');
            pattern_keys := jsonb_path_query_array(pattern_props, '$.keyvalue().key');
            n := jsonb_array_length(keys);
            FOR i IN 0 .. n - 1 LOOP
                k := keys ->> i;
                v := doc -> k;
                IF required ? k THEN
                    nrequired := nrequired + 1;
                END IF;
                matched := false;
                IF props ? k THEN
                    matched := true;
                    IF NOT bench.jsonschema_node_plpgsql(props -> k, v, root) THEN
                        RETURN false;
                    END IF;
                END IF;
                IF pattern_props IS NOT NULL THEN
                    FOR j IN 0 .. jsonb_array_length(pattern_keys) - 1 LOOP
                        pk := pattern_keys ->> j;
                        IF (k COLLATE "C") ~ pk THEN
                            matched := true;
                            IF NOT bench.jsonschema_node_plpgsql(pattern_props -> pk, v, root) THEN
                                RETURN false;
                            END IF;
                        END IF;
                    END LOOP;
                END IF;
                IF NOT matched AND additional IS NOT NULL THEN
                    IF additional = 'false' OR NOT bench.jsonschema_node_plpgsql(additional, v, root) THEN
                        RETURN false;
                    END IF;
                END IF;
                IF names IS NOT NULL AND NOT bench.jsonschema_node_plpgsql(names, to_jsonb(k), root) THEN
                    RETURN false;
                END IF;
            END LOOP;
            IF nrequired < coalesce(jsonb_array_length(required), 0)
               OR n < coalesce((s -> 'minProperties')::numeric, 0)
               OR n > coalesce((s -> 'maxProperties')::numeric, n) THEN
                RETURN false;
            END IF;
        END IF;
        IF s ? 'dependentRequired' THEN
            FOR k, v IN SELECT e.key, e.value FROM jsonb_each(s -> 'dependentRequired') e LOOP
                IF doc ? k AND NOT doc ?& ARRAY(SELECT jsonb_array_elements_text(v)) THEN
                    RETURN false;
                END IF;
            END LOOP;
        END IF;
        IF s ? 'dependentSchemas' THEN
            FOR k, sub IN SELECT e.key, e.value FROM jsonb_each(s -> 'dependentSchemas') e LOOP
                IF doc ? k AND NOT bench.jsonschema_node_plpgsql(sub, doc, root) THEN
                    RETURN false;
                END IF;
            END LOOP;
        END IF;
    WHEN 'array' THEN
        IF s ?| '{prefixItems,items,contains,minItems,maxItems,uniqueItems}' THEN
            n := jsonb_array_length(doc);
            IF n < coalesce((s -> 'minItems')::numeric, 0) OR n > coalesce((s -> 'maxItems')::numeric, n) THEN
                RETURN false;
            END IF;
            IF s ?| '{prefixItems,items,contains}' THEN
                prefix := s -> 'prefixItems';
                nprefix := coalesce(jsonb_array_length(prefix), 0);
                items := s -> 'items';
                contains := s -> 'contains';
                matches := 0;
                FOR i IN 0 .. n - 1 LOOP
                    v := doc -> i;
                    IF i < nprefix THEN
                        IF NOT bench.jsonschema_node_plpgsql(prefix -> i, v, root) THEN
                            RETURN false;
                        END IF;
                    ELSIF items IS NOT NULL THEN
                        IF NOT bench.jsonschema_node_plpgsql(items, v, root) THEN
                            RETURN false;
                        END IF;
                    END IF;
                    IF contains IS NOT NULL AND bench.jsonschema_node_plpgsql(contains, v, root) THEN
                        matches := matches + 1;
                    END IF;
                END LOOP;
                IF contains IS NOT NULL
                   AND (matches < coalesce((s -> 'minContains')::numeric, 1)
                        OR matches > coalesce((s -> 'maxContains')::numeric, matches)) THEN
                    RETURN false;
                END IF;
            END IF;
            IF (s -> 'uniqueItems') = 'true' AND n > 1
               AND (SELECT count(DISTINCT e) FROM jsonb_array_elements(doc) e) < n THEN
                RETURN false;
            END IF;
        END IF;
    ELSE
        NULL;   -- boolean, null: nothing more
    END CASE;

    -- applicators on the same value
    IF s ?| '{allOf,anyOf,oneOf,not,if}' THEN
        IF s ? 'allOf' THEN
            FOR i IN 0 .. jsonb_array_length(s -> 'allOf') - 1 LOOP
                IF NOT bench.jsonschema_node_plpgsql(s -> 'allOf' -> i, doc, root) THEN
                    RETURN false;
                END IF;
            END LOOP;
        END IF;
        IF s ? 'anyOf' THEN
            matched := false;
            FOR i IN 0 .. jsonb_array_length(s -> 'anyOf') - 1 LOOP
                IF bench.jsonschema_node_plpgsql(s -> 'anyOf' -> i, doc, root) THEN
                    matched := true;
                    EXIT;
                END IF;
            END LOOP;
            IF NOT matched THEN
                RETURN false;
            END IF;
        END IF;
        IF s ? 'oneOf' THEN
            matches := 0;
            FOR i IN 0 .. jsonb_array_length(s -> 'oneOf') - 1 LOOP
                IF bench.jsonschema_node_plpgsql(s -> 'oneOf' -> i, doc, root) THEN
                    matches := matches + 1;
                    EXIT WHEN matches > 1;
                END IF;
            END LOOP;
            IF matches <> 1 THEN
                RETURN false;
            END IF;
        END IF;
        IF s ? 'not' AND bench.jsonschema_node_plpgsql(s -> 'not', doc, root) THEN
            RETURN false;
        END IF;
        IF s ? 'if' AND s ?| '{then,else}' THEN
            IF bench.jsonschema_node_plpgsql(s -> 'if', doc, root) THEN
                IF s ? 'then' AND NOT bench.jsonschema_node_plpgsql(s -> 'then', doc, root) THEN
                    RETURN false;
                END IF;
            ELSIF s ? 'else' AND NOT bench.jsonschema_node_plpgsql(s -> 'else', doc, root) THEN
                RETURN false;
            END IF;
        END IF;
    END IF;
    RETURN true;
END;
$$;

-- Does doc satisfy the JSON Schema schema? (A SQL wrapper, inlined by the
-- planner: no call of its own.)
CREATE FUNCTION bench.jsonschema_is_valid_plpgsql(schema jsonb, doc jsonb)
RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT bench.jsonschema_node_plpgsql(schema, doc, schema) $$;
