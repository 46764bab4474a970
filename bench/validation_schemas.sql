-- The JSON Schemas (version 1) of the 10 event types of validation_schema.sql,
-- registered with activity.register_schema(). validation_plpgsql.sql writes
-- the same rules out by hand.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

SELECT count(*) AS schemas_registered FROM (
SELECT activity.register_schema('post.created', $j${
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "post.created",
  "type": "object",
  "required": ["post_id", "topic_id", "title"],
  "properties": {
    "post_id":    {"type": "string", "pattern": "^p-[0-9]+$"},
    "topic_id":   {"type": "string", "pattern": "^t-[0-9]+$"},
    "title":      {"type": "string", "minLength": 1, "maxLength": 200},
    "raw_length": {"type": "integer", "minimum": 0},
    "category":   {"enum": ["general", "announcements", "help", "showcase", "meta"]},
    "tags":       {"type": "array", "maxItems": 10,
                   "items": {"type": "string", "pattern": "^[a-z0-9-]+$", "maxLength": 30}}
  },
  "additionalProperties": false
}$j$, 'backward')

UNION ALL SELECT activity.register_schema('comment.created', $j${
  "title": "comment.created",
  "type": "object",
  "required": ["comment_id", "post_id"],
  "properties": {
    "comment_id": {"type": "string", "pattern": "^c-[0-9]+$"},
    "post_id":    {"type": "string", "pattern": "^p-[0-9]+$"},
    "excerpt":    {"type": "string", "maxLength": 280},
    "reply_to":   {"type": "string", "pattern": "^c-[0-9]+$"}
  },
  "additionalProperties": false
}$j$, 'backward')

UNION ALL SELECT activity.register_schema('reaction.added', $j${
  "title": "reaction.added",
  "type": "object",
  "required": ["post_id", "emoji"],
  "properties": {
    "post_id": {"type": "string", "pattern": "^p-[0-9]+$"},
    "emoji":   {"enum": ["+1", "heart", "laugh", "tada", "eyes", "rocket"]}
  }
}$j$, 'backward')

UNION ALL SELECT activity.register_schema('topic.created', $j${
  "title": "topic.created",
  "type": "object",
  "required": ["topic_id", "title", "category"],
  "properties": {
    "topic_id": {"type": "string", "pattern": "^t-[0-9]+$"},
    "title":    {"type": "string", "minLength": 1, "maxLength": 200},
    "category": {"enum": ["general", "announcements", "help", "showcase", "meta"]}
  }
}$j$, 'backward')

UNION ALL SELECT activity.register_schema('award.given', $j${
  "title": "award.given",
  "type": "object",
  "required": ["award_id", "award_name", "points"],
  "properties": {
    "award_id":   {"type": "string", "pattern": "^a-[0-9]+$"},
    "award_name": {"enum": ["Helpful", "Insightful", "First Post", "Bug Hunter", "Mentor"]},
    "points":     {"type": "integer", "minimum": 1, "maximum": 1000},
    "reason":     {"type": "string", "maxLength": 500}
  },
  "additionalProperties": false
}$j$, 'backward')

UNION ALL SELECT activity.register_schema('user.followed', $j${
  "title": "user.followed",
  "type": "object",
  "required": ["source"],
  "properties": {
    "source": {"enum": ["profile", "suggestion", "search", "mention"]}
  }
}$j$, 'backward')

UNION ALL SELECT activity.register_schema('member.joined', $j${
  "title": "member.joined",
  "type": "object",
  "required": ["via"],
  "properties": {
    "via":         {"enum": ["invite", "link", "sso", "import"]},
    "invite_code": {"type": "string", "pattern": "^[A-Za-z0-9]{8}$"}
  }
}$j$, 'backward')

UNION ALL SELECT activity.register_schema('site.auth.login_failure', $j${
  "title": "site.auth.login_failure",
  "type": "object",
  "required": ["reason", "ip"],
  "properties": {
    "reason":     {"enum": ["bad_password", "unknown_user", "locked", "mfa_failed"]},
    "ip":         {"type": "string", "format": "ipv4"},
    "user_agent": {"type": "string", "maxLength": 512},
    "attempt":    {"type": "integer", "minimum": 1, "maximum": 100},
    "client": {
      "type": "object",
      "required": ["os"],
      "properties": {
        "os":          {"enum": ["linux", "macos", "windows", "ios", "android"]},
        "app_version": {"type": "string", "pattern": "^[0-9]+\\.[0-9]+\\.[0-9]+$"}
      },
      "additionalProperties": false
    }
  }
}$j$, 'backward')

UNION ALL SELECT activity.register_schema('issue.updated', $j${
  "title": "issue.updated",
  "type": "object",
  "required": ["issue_id", "changes"],
  "properties": {
    "issue_id": {"type": "string", "pattern": "^i-[0-9]+$"},
    "changes": {
      "type": "object",
      "minProperties": 1,
      "properties": {
        "status": {
          "type": "object",
          "required": ["from", "to"],
          "properties": {
            "from": {"enum": ["open", "in_progress", "review", "done", "closed"]},
            "to":   {"enum": ["open", "in_progress", "review", "done", "closed"]}
          },
          "additionalProperties": false
        },
        "priority": {
          "type": "object",
          "required": ["from", "to"],
          "properties": {
            "from": {"enum": ["p0", "p1", "p2", "p3"]},
            "to":   {"enum": ["p0", "p1", "p2", "p3"]}
          },
          "additionalProperties": false
        }
      },
      "additionalProperties": false
    },
    "due_at": {"type": "string", "format": "date-time"}
  },
  "additionalProperties": false
}$j$, 'backward')

UNION ALL SELECT activity.register_schema('CHAT_MESSAGE_DELETE', $j${
  "title": "CHAT_MESSAGE_DELETE",
  "type": "object",
  "required": ["message_id", "channel_id", "deleted_by"],
  "properties": {
    "message_id":      {"type": "string", "pattern": "^m-[0-9]+$"},
    "channel_id":      {"type": "string", "pattern": "^ch-[0-9]+$"},
    "deleted_by":      {"enum": ["author", "moderator", "bot"]},
    "original_length": {"type": "integer", "minimum": 0},
    "reason":          {"type": "string", "maxLength": 200}
  },
  "additionalProperties": false
}$j$, 'backward')
) t \g /dev/null
