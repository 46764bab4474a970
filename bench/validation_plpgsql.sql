-- The hand-written alternative to the extension's C trigger: a PL/pgSQL
-- BEFORE INSERT trigger on bench.plpgsql_activities that checks the same rules
-- as activity._validate() with the schemas of validation_schemas.sql, written
-- out by hand for these 10 types.
--
-- Written to be fast rather than helpful: the registry rules are hard-coded
-- per type (no lookup), and each type's rules are one boolean expression,
-- which PL/pgSQL evaluates as one "simple expression" (no executor start per
-- rule): its registry rules in the trigger, its schema in
-- bench.metadata_ok_plpgsql(), which the trigger calls (one PL/pgSQL call
-- more per row, so that validation_alone.sql can time the schema rules
-- alone on the same documents); a row that fails gets one message per type,
-- without saying which rule broke (the C trigger names the field and the
-- rule). Where a rule is cheaper to write as a pattern, it is (maxLength
-- folded into the pattern, date-time and ipv4 checked by regular expression
-- only). The generic depth limit of the C trigger (activity.max_metadata_depth)
-- is not checked.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

-- The metadata rules of each type (its JSON Schema written out by hand): true
-- when m satisfies the schema of version 1 of the type, false (or NULL) when
-- it does not. Each branch is one boolean expression, evaluated by PL/pgSQL as
-- one "simple expression". The trigger below calls it for every row;
-- validation_alone.sql also calls it on the metadata alone, in a SELECT.
CREATE FUNCTION bench.metadata_ok_plpgsql(type text, m jsonb)
RETURNS boolean
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    CASE type
    WHEN 'post.created' THEN
        RETURN m ?& '{post_id,topic_id,title}'
          AND (m - '{post_id,topic_id,title,raw_length,category,tags}'::text[]) = '{}'
          AND jsonb_typeof(m -> 'post_id') = 'string' AND (m ->> 'post_id') ~ '^p-[0-9]+$'
          AND jsonb_typeof(m -> 'topic_id') = 'string' AND (m ->> 'topic_id') ~ '^t-[0-9]+$'
          AND jsonb_typeof(m -> 'title') = 'string' AND length(m ->> 'title') BETWEEN 1 AND 200
          AND CASE WHEN NOT m ? 'raw_length' THEN true
                   WHEN jsonb_typeof(m -> 'raw_length') <> 'number' THEN false
                   ELSE (m -> 'raw_length')::numeric >= 0
                        AND (m -> 'raw_length')::numeric = trunc((m -> 'raw_length')::numeric) END
          AND (NOT m ? 'category'
               OR (jsonb_typeof(m -> 'category') = 'string'
                   AND (m ->> 'category') IN ('general', 'announcements', 'help', 'showcase', 'meta')))
          AND (NOT m ? 'tags'
               OR (jsonb_typeof(m -> 'tags') = 'array' AND jsonb_array_length(m -> 'tags') <= 10
                   AND NOT jsonb_path_exists(m -> 'tags',
                           'strict $[*] ? (@.type() != "string" || !(@ like_regex "^[a-z0-9-]{1,30}$"))')));
    WHEN 'comment.created' THEN
        RETURN m ?& '{comment_id,post_id}'
          AND (m - '{comment_id,post_id,excerpt,reply_to}'::text[]) = '{}'
          AND jsonb_typeof(m -> 'comment_id') = 'string' AND (m ->> 'comment_id') ~ '^c-[0-9]+$'
          AND jsonb_typeof(m -> 'post_id') = 'string' AND (m ->> 'post_id') ~ '^p-[0-9]+$'
          AND (NOT m ? 'excerpt' OR (jsonb_typeof(m -> 'excerpt') = 'string' AND length(m ->> 'excerpt') <= 280))
          AND (NOT m ? 'reply_to' OR (jsonb_typeof(m -> 'reply_to') = 'string' AND (m ->> 'reply_to') ~ '^c-[0-9]+$'));
    WHEN 'reaction.added' THEN
        RETURN m ?& '{post_id,emoji}'
          AND jsonb_typeof(m -> 'post_id') = 'string' AND (m ->> 'post_id') ~ '^p-[0-9]+$'
          AND jsonb_typeof(m -> 'emoji') = 'string'
          AND (m ->> 'emoji') IN ('+1', 'heart', 'laugh', 'tada', 'eyes', 'rocket');
    WHEN 'topic.created' THEN
        RETURN m ?& '{topic_id,title,category}'
          AND jsonb_typeof(m -> 'topic_id') = 'string' AND (m ->> 'topic_id') ~ '^t-[0-9]+$'
          AND jsonb_typeof(m -> 'title') = 'string' AND length(m ->> 'title') BETWEEN 1 AND 200
          AND jsonb_typeof(m -> 'category') = 'string'
          AND (m ->> 'category') IN ('general', 'announcements', 'help', 'showcase', 'meta');
    WHEN 'award.given' THEN
        RETURN m ?& '{award_id,award_name,points}'
          AND (m - '{award_id,award_name,points,reason}'::text[]) = '{}'
          AND jsonb_typeof(m -> 'award_id') = 'string' AND (m ->> 'award_id') ~ '^a-[0-9]+$'
          AND jsonb_typeof(m -> 'award_name') = 'string'
          AND (m ->> 'award_name') IN ('Helpful', 'Insightful', 'First Post', 'Bug Hunter', 'Mentor')
          AND CASE WHEN jsonb_typeof(m -> 'points') <> 'number' THEN false
                   ELSE (m -> 'points')::numeric BETWEEN 1 AND 1000
                        AND (m -> 'points')::numeric = trunc((m -> 'points')::numeric) END
          AND (NOT m ? 'reason' OR (jsonb_typeof(m -> 'reason') = 'string' AND length(m ->> 'reason') <= 500));
    WHEN 'user.followed' THEN
        RETURN jsonb_typeof(m -> 'source') = 'string'
          AND (m ->> 'source') IN ('profile', 'suggestion', 'search', 'mention');
    WHEN 'member.joined' THEN
        RETURN jsonb_typeof(m -> 'via') = 'string'
          AND (m ->> 'via') IN ('invite', 'link', 'sso', 'import')
          AND (NOT m ? 'invite_code'
               OR (jsonb_typeof(m -> 'invite_code') = 'string' AND (m ->> 'invite_code') ~ '^[A-Za-z0-9]{8}$'));
    WHEN 'site.auth.login_failure' THEN
        RETURN m ?& '{reason,ip}'
          AND jsonb_typeof(m -> 'reason') = 'string'
          AND (m ->> 'reason') IN ('bad_password', 'unknown_user', 'locked', 'mfa_failed')
          AND jsonb_typeof(m -> 'ip') = 'string'
          AND (m ->> 'ip') ~ '^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$'
          AND (NOT m ? 'user_agent' OR (jsonb_typeof(m -> 'user_agent') = 'string' AND length(m ->> 'user_agent') <= 512))
          AND CASE WHEN NOT m ? 'attempt' THEN true
                   WHEN jsonb_typeof(m -> 'attempt') <> 'number' THEN false
                   ELSE (m -> 'attempt')::numeric BETWEEN 1 AND 100
                        AND (m -> 'attempt')::numeric = trunc((m -> 'attempt')::numeric) END
          AND (NOT m ? 'client'
               OR (jsonb_typeof(m -> 'client') = 'object'
                   AND (m -> 'client') ? 'os'
                   AND ((m -> 'client') - '{os,app_version}'::text[]) = '{}'
                   AND jsonb_typeof(m -> 'client' -> 'os') = 'string'
                   AND (m -> 'client' ->> 'os') IN ('linux', 'macos', 'windows', 'ios', 'android')
                   AND (NOT (m -> 'client') ? 'app_version'
                        OR (jsonb_typeof(m -> 'client' -> 'app_version') = 'string'
                            AND (m -> 'client' ->> 'app_version') ~ '^[0-9]+\.[0-9]+\.[0-9]+$'))));
    WHEN 'issue.updated' THEN
        RETURN m ?& '{issue_id,changes}'
          AND (m - '{issue_id,changes,due_at}'::text[]) = '{}'
          AND jsonb_typeof(m -> 'issue_id') = 'string' AND (m ->> 'issue_id') ~ '^i-[0-9]+$'
          AND jsonb_typeof(m -> 'changes') = 'object'
          AND (m -> 'changes') <> '{}'
          AND ((m -> 'changes') - '{status,priority}'::text[]) = '{}'
          AND (NOT (m -> 'changes') ? 'status'
               OR (jsonb_typeof(m -> 'changes' -> 'status') = 'object'
                   AND (m -> 'changes' -> 'status') ?& '{from,to}'
                   AND ((m -> 'changes' -> 'status') - '{from,to}'::text[]) = '{}'
                   AND jsonb_typeof(m -> 'changes' -> 'status' -> 'from') = 'string'
                   AND (m -> 'changes' -> 'status' ->> 'from') IN ('open', 'in_progress', 'review', 'done', 'closed')
                   AND jsonb_typeof(m -> 'changes' -> 'status' -> 'to') = 'string'
                   AND (m -> 'changes' -> 'status' ->> 'to') IN ('open', 'in_progress', 'review', 'done', 'closed')))
          AND (NOT (m -> 'changes') ? 'priority'
               OR (jsonb_typeof(m -> 'changes' -> 'priority') = 'object'
                   AND (m -> 'changes' -> 'priority') ?& '{from,to}'
                   AND ((m -> 'changes' -> 'priority') - '{from,to}'::text[]) = '{}'
                   AND jsonb_typeof(m -> 'changes' -> 'priority' -> 'from') = 'string'
                   AND (m -> 'changes' -> 'priority' ->> 'from') IN ('p0', 'p1', 'p2', 'p3')
                   AND jsonb_typeof(m -> 'changes' -> 'priority' -> 'to') = 'string'
                   AND (m -> 'changes' -> 'priority' ->> 'to') IN ('p0', 'p1', 'p2', 'p3')))
          AND (NOT m ? 'due_at'
               OR (jsonb_typeof(m -> 'due_at') = 'string'
                   AND (m ->> 'due_at') ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$'));
    WHEN 'CHAT_MESSAGE_DELETE' THEN
        RETURN m ?& '{message_id,channel_id,deleted_by}'
          AND (m - '{message_id,channel_id,deleted_by,original_length,reason}'::text[]) = '{}'
          AND jsonb_typeof(m -> 'message_id') = 'string' AND (m ->> 'message_id') ~ '^m-[0-9]+$'
          AND jsonb_typeof(m -> 'channel_id') = 'string' AND (m ->> 'channel_id') ~ '^ch-[0-9]+$'
          AND jsonb_typeof(m -> 'deleted_by') = 'string'
          AND (m ->> 'deleted_by') IN ('author', 'moderator', 'bot')
          AND CASE WHEN NOT m ? 'original_length' THEN true
                   WHEN jsonb_typeof(m -> 'original_length') <> 'number' THEN false
                   ELSE (m -> 'original_length')::numeric >= 0
                        AND (m -> 'original_length')::numeric = trunc((m -> 'original_length')::numeric) END
          AND (NOT m ? 'reason' OR (jsonb_typeof(m -> 'reason') = 'string' AND length(m ->> 'reason') <= 200));
    ELSE
        RAISE EXCEPTION 'unknown activity type "%"', type USING ERRCODE = '23503';
    END CASE;
END;
$$;

CREATE FUNCTION bench.validate_activity_plpgsql()
RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    m jsonb;
    ok boolean;
BEGIN
    -- who, where, when: the rules of every type
    IF (octet_length(NEW.workspace_id) BETWEEN 1 AND 1024
        AND NEW.actor_type IN ('user', 'agent', 'system')
        AND CASE WHEN NEW.initiator_id IS NULL THEN NEW.actor_type = 'system'
                 ELSE octet_length(NEW.initiator_id) BETWEEN 1 AND 1024 END
        AND (NEW.recipient_id IS NULL OR octet_length(NEW.recipient_id) BETWEEN 1 AND 1024)
        AND (NEW.platform IS NULL OR octet_length(NEW.platform) BETWEEN 1 AND 1024)
        AND (NEW.subject_type IS NULL) = (NEW.subject_id IS NULL)
        AND (NEW.subject_type IS NULL
             OR (octet_length(NEW.subject_type) BETWEEN 1 AND 1024
                 AND octet_length(NEW.subject_id) BETWEEN 1 AND 1024))
        AND isfinite(NEW.occurred_at)) IS NOT TRUE
    THEN
        RAISE EXCEPTION 'invalid activity of type "%"', NEW.type USING ERRCODE = '23514';
    END IF;

    -- version: every type has version 1 only
    IF NEW.version IS NULL THEN
        NEW.version := 1;
    ELSIF NEW.version <> 1 THEN
        RAISE EXCEPTION 'activity type "%" has no schema version %', NEW.type, NEW.version USING ERRCODE = '23503';
    END IF;

    -- metadata: an object within the size limit
    IF NEW.metadata IS NULL THEN
        NEW.metadata := '{}';
    END IF;
    m := NEW.metadata;
    IF jsonb_typeof(m) <> 'object' OR pg_column_size(m) > 262144 THEN
        RAISE EXCEPTION 'metadata of an activity must be a JSON object of at most 256 kB' USING ERRCODE = '23514';
    END IF;

    -- the type's registry rules (recipient, actor types, platforms), then
    -- its schema
    CASE NEW.type
    WHEN 'post.created', 'comment.created', 'reaction.added', 'topic.created' THEN
        ok := true;
    WHEN 'award.given', 'user.followed' THEN
        ok := NEW.recipient_id IS NOT NULL;
    WHEN 'member.joined' THEN
        ok := NEW.recipient_id IS NULL;
    WHEN 'site.auth.login_failure' THEN
        ok := NEW.recipient_id IS NULL AND NEW.actor_type IN ('user', 'system');
    WHEN 'issue.updated' THEN
        ok := NEW.actor_type IN ('user', 'agent');
    WHEN 'CHAT_MESSAGE_DELETE' THEN
        ok := NEW.platform IN ('discord', 'telegram', 'slack');
    ELSE
        RAISE EXCEPTION 'unknown activity type "%"', NEW.type USING ERRCODE = '23503';
    END CASE;
    ok := ok AND bench.metadata_ok_plpgsql(NEW.type, m);
    IF ok IS NOT TRUE THEN
        RAISE EXCEPTION 'activity of type "%" breaks a rule of its type or of its schema version 1', NEW.type
            USING ERRCODE = '23514';
    END IF;

    -- causality: the cause is an activity of the same workspace (a separate
    -- IF: a condition with a subquery is not a simple expression, and would
    -- run through the executor for every row)
    IF NEW.caused_by IS NOT NULL THEN
        IF NOT EXISTS (SELECT 1 FROM bench.plpgsql_activities a
                        WHERE a.id = NEW.caused_by AND a.workspace_id = NEW.workspace_id) THEN
            RAISE EXCEPTION 'caused_by % is not an activity of workspace "%"', NEW.caused_by, NEW.workspace_id
                USING ERRCODE = '23503';
        END IF;
    END IF;

    -- completion
    IF NEW.id IS NULL THEN
        NEW.id := activity.uuidv7();
    END IF;
    IF NEW.recorded_at IS NULL THEN
        NEW.recorded_at := now();
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER plpgsql_activities_validate
    BEFORE INSERT ON bench.plpgsql_activities
    FOR EACH ROW EXECUTE FUNCTION bench.validate_activity_plpgsql();
