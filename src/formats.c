/*
 * formats.c
 *		The "format" assertions of the JSON Schema engine: date-time, date,
 *		time (RFC 3339), uuid (RFC 9562), email (RFC 5321 mailbox, simplified:
 *		dot-atom or quoted local part; host name or address literal), uri
 *		(RFC 3986 absolute URI), ipv4 and ipv6 (RFC 2673/4291 text forms).
 *
 * Each checker takes a string that is not NUL-terminated and never reads
 * past its length.
 */
#include "postgres.h"

#include "jsonschema.h"

bool		jsonschema_check_format(JsFormat format, const char *s, int len);

static bool
digits(const char *s, int n, int *value)
{
	int			v = 0;
	int			i;

	for (i = 0; i < n; i++)
	{
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*value = v;
	return true;
}

static bool
is_hex(char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

static bool
is_alpha(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static bool
is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

/* full-date: YYYY-MM-DD, a real day */
static bool
check_date(const char *s, int len)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int			y,
				m,
				d;
	int			maxd;

	if (len != 10 || s[4] != '-' || s[7] != '-' ||
		!digits(s, 4, &y) || !digits(s + 5, 2, &m) || !digits(s + 8, 2, &d))
		return false;
	if (m < 1 || m > 12 || d < 1)
		return false;
	maxd = mdays[m - 1];
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		maxd = 29;
	return d <= maxd;
}

/* full-time: HH:MM:SS[.frac](Z|+HH:MM|-HH:MM); second 60 only at 23:59 UTC */
static bool
check_time(const char *s, int len)
{
	int			h,
				m,
				sec;
	int			i = 8;
	int			oh = 0,
				om = 0,
				sign = 0;

	if (len < 9 || s[2] != ':' || s[5] != ':' ||
		!digits(s, 2, &h) || !digits(s + 3, 2, &m) || !digits(s + 6, 2, &sec))
		return false;
	if (h > 23 || m > 59 || sec > 60)
		return false;
	if (i < len && s[i] == '.')
	{
		int			start = ++i;

		while (i < len && is_digit(s[i]))
			i++;
		if (i == start)
			return false;
	}
	if (i < len && (s[i] == 'Z' || s[i] == 'z'))
		i++;
	else if (i < len && (s[i] == '+' || s[i] == '-'))
	{
		sign = s[i] == '+' ? 1 : -1;
		if (len - i != 6 || s[i + 3] != ':' ||
			!digits(s + i + 1, 2, &oh) || !digits(s + i + 4, 2, &om) || oh > 23 || om > 59)
			return false;
		i += 6;
	}
	else
		return false;
	if (i != len)
		return false;
	if (sec == 60)
	{
		int			utc = ((h * 60 + m - sign * (oh * 60 + om)) % 1440 + 1440) % 1440;

		return utc == 23 * 60 + 59;
	}
	return true;
}

static bool
check_date_time(const char *s, int len)
{
	return len > 11 && (s[10] == 'T' || s[10] == 't') &&
		check_date(s, 10) && check_time(s + 11, len - 11);
}

static bool
check_uuid(const char *s, int len)
{
	int			i;

	if (len != 36)
		return false;
	for (i = 0; i < 36; i++)
	{
		if (i == 8 || i == 13 || i == 18 || i == 23)
		{
			if (s[i] != '-')
				return false;
		}
		else if (!is_hex(s[i]))
			return false;
	}
	return true;
}

/* dotted quad, no leading zeros */
static bool
check_ipv4(const char *s, int len)
{
	int			parts = 0;
	int			i = 0;

	while (i <= len)
	{
		int			start = i;
		int			v = 0;

		while (i < len && is_digit(s[i]))
			i++;
		if (i == start || i - start > 3 || (i - start > 1 && s[start] == '0'))
			return false;
		digits(s + start, i - start, &v);
		if (v > 255)
			return false;
		parts++;
		if (i == len)
			break;
		if (s[i] != '.' || parts == 4)
			return false;
		i++;
	}
	return parts == 4;
}

static bool
check_ipv6(const char *s, int len)
{
	int			groups = 0;
	bool		compressed = false;
	int			i = 0;

	if (len < 2)
		return false;
	if (s[0] == ':')
	{
		if (s[1] != ':')
			return false;
		compressed = true;
		i = 2;
		if (i == len)
			return true;
	}
	while (i < len)
	{
		int			start = i;

		while (i < len && is_hex(s[i]))
			i++;
		if (i < len && s[i] == '.')
		{
			/* trailing IPv4: counts as two groups */
			if (!check_ipv4(s + start, len - start))
				return false;
			groups += 2;
			i = len;
			break;
		}
		if (i == start || i - start > 4)
			return false;
		groups++;
		if (i == len)
			break;
		if (s[i] != ':')
			return false;
		i++;
		if (i < len && s[i] == ':')
		{
			if (compressed)
				return false;
			compressed = true;
			i++;
			if (i == len)
				break;
		}
		else if (i == len)
			return false;		/* trailing single colon */
	}
	return compressed ? groups <= 7 : groups == 8;
}

/* a DNS host name: labels of letters, digits and hyphens */
static bool
check_hostname(const char *s, int len)
{
	int			i = 0;

	if (len == 0 || len > 253)
		return false;
	while (i < len)
	{
		int			start = i;

		while (i < len && (is_alpha(s[i]) || is_digit(s[i]) || s[i] == '-'))
			i++;
		if (i == start || i - start > 63 || s[start] == '-' || s[i - 1] == '-')
			return false;
		if (i == len)
			break;
		if (s[i] != '.' || i + 1 == len)
			return false;
		i++;
	}
	return true;
}

static bool
check_email(const char *s, int len)
{
	int			at = -1;
	int			i;
	const char *domain;
	int			dlen;

	for (i = len - 1; i >= 0; i--)
		if (s[i] == '@')
		{
			at = i;
			break;
		}
	if (at <= 0 || at == len - 1)
		return false;
	/* RFC 5321 4.5.3.1: a local part of at most 64 octets, a path of 256 with "<>" */
	if (at > 64 || len > 254)
		return false;

	if (s[0] == '"')
	{
		/* quoted string: printable ASCII, with \ escapes */
		if (at < 2 || s[at - 1] != '"')
			return false;
		for (i = 1; i < at - 1; i++)
		{
			if (s[i] == '\\')
				i++;
			else if (s[i] == '"' || (unsigned char) s[i] < 32 || (unsigned char) s[i] > 126)
				return false;
		}
	}
	else
	{
		/* dot-atom */
		if (s[0] == '.' || s[at - 1] == '.')
			return false;
		for (i = 0; i < at; i++)
		{
			char		ch = s[i];

			if (ch == '.')
			{
				if (s[i + 1] == '.')
					return false;
			}
			else if (!(is_alpha(ch) || is_digit(ch) || strchr("!#$%&'*+/=?^_`{|}~-", ch) != NULL) || ch == '\0')
				return false;
		}
	}

	domain = s + at + 1;
	dlen = len - at - 1;
	if (domain[0] == '[')
	{
		if (domain[dlen - 1] != ']')
			return false;
		if (dlen > 7 && strncmp(domain + 1, "IPv6:", 5) == 0)
			return check_ipv6(domain + 6, dlen - 7);
		return check_ipv4(domain + 1, dlen - 2);
	}
	return check_hostname(domain, dlen);
}

static bool
uri_unreserved(char ch)
{
	return is_alpha(ch) || is_digit(ch) || ch == '-' || ch == '.' || ch == '_' || ch == '~';
}

static bool
uri_sub_delim(char ch)
{
	return ch != '\0' && strchr("!$&'()*+,;=", ch) != NULL;
}

/*
 * Characters s[from..to) all in the set (unreserved, sub-delims, the extra
 * characters given, and %XX).
 */
static bool
uri_chars(const char *s, int from, int to, const char *extra)
{
	int			i;

	for (i = from; i < to; i++)
	{
		char		ch = s[i];

		if (ch == '%')
		{
			if (i + 2 >= to || !is_hex(s[i + 1]) || !is_hex(s[i + 2]))
				return false;
			i += 2;
		}
		else if (!(uri_unreserved(ch) || uri_sub_delim(ch) || (ch != '\0' && strchr(extra, ch) != NULL)))
			return false;
	}
	return true;
}

/* URI = scheme ":" hier-part [ "?" query ] [ "#" fragment ] */
static bool
check_uri(const char *s, int len)
{
	int			i = 0;
	int			path_start;
	int			query = -1;
	int			fragment = -1;
	int			end;

	if (len == 0 || !is_alpha(s[0]))
		return false;
	while (i < len && (is_alpha(s[i]) || is_digit(s[i]) || s[i] == '+' || s[i] == '-' || s[i] == '.'))
		i++;
	if (i == len || s[i] != ':')
		return false;
	i++;

	for (end = i; end < len; end++)
	{
		if (s[end] == '#' && fragment < 0)
			fragment = end;
		else if (s[end] == '?' && query < 0 && fragment < 0)
			query = end;
	}
	end = query >= 0 ? query : (fragment >= 0 ? fragment : len);

	path_start = i;
	if (end - i >= 2 && s[i] == '/' && s[i + 1] == '/')
	{
		int			auth = i + 2;
		int			auth_end = auth;
		int			at = -1;
		int			host;
		int			host_end;
		int			j;

		while (auth_end < end && s[auth_end] != '/')
			auth_end++;
		for (j = auth; j < auth_end; j++)
			if (s[j] == '@')
				at = j;
		if (at >= 0 && !uri_chars(s, auth, at, ":"))
			return false;
		host = at >= 0 ? at + 1 : auth;
		host_end = auth_end;
		if (host < auth_end && s[host] == '[')
		{
			int			close = host;

			while (close < auth_end && s[close] != ']')
				close++;
			if (close == auth_end || !check_ipv6(s + host + 1, close - host - 1))
				return false;
			host_end = close + 1;
		}
		else
		{
			for (j = host; j < auth_end; j++)
				if (s[j] == ':')
				{
					host_end = j;
					break;
				}
			if (!uri_chars(s, host, host_end, ""))
				return false;
		}
		if (host_end < auth_end)
		{
			if (s[host_end] != ':')
				return false;
			for (j = host_end + 1; j < auth_end; j++)
				if (!is_digit(s[j]))
					return false;
		}
		path_start = auth_end;
	}
	if (!uri_chars(s, path_start, end, ":@/"))
		return false;
	if (query >= 0 && !uri_chars(s, query + 1, fragment >= 0 ? fragment : len, ":@/?"))
		return false;
	if (fragment >= 0 && !uri_chars(s, fragment + 1, len, ":@/?"))
		return false;
	return true;
}

/*
 * Does the string satisfy the format?
 */
bool
jsonschema_check_format(JsFormat format, const char *s, int len)
{
	switch (format)
	{
		case JF_DATE_TIME:
			return check_date_time(s, len);
		case JF_DATE:
			return check_date(s, len);
		case JF_TIME:
			return check_time(s, len);
		case JF_UUID:
			return check_uuid(s, len);
		case JF_EMAIL:
			return check_email(s, len);
		case JF_URI:
			return check_uri(s, len);
		case JF_IPV4:
			return check_ipv4(s, len);
		case JF_IPV6:
			return check_ipv6(s, len);
		case JF_NONE:
			return true;
	}
	return true;
}
