/* Progress bar. See progress.h. */
#include "progress.h"

#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define REDRAW_MS 100u

const char *tftp_human_bytes(double v, char *buf, unsigned long cap)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	unsigned u = 0;
	while (v >= 1024.0 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024.0;
		u++;
	}
	if (u == 0)
		snprintf(buf, cap, "%.0f %s", v, units[u]);
	else
		snprintf(buf, cap, "%.1f %s", v, units[u]);
	return buf;
}

void tftp_progress_init(struct tftp_progress *p, int enabled, int fd,
			const char *label, uint64_t now_ms)
{
	memset(p, 0, sizeof(*p));
	p->enabled = enabled;
	p->fd = fd;
	p->label = label;
	p->start_ms = now_ms;
	p->next_ms = now_ms;
}

void tftp_progress_set_total(struct tftp_progress *p, uint64_t total)
{
	p->total = total;
	p->have_total = 1;
}

/* The terminal's width, asked each redraw: the window may be resized. */
static unsigned term_width(int fd)
{
	struct winsize ws;
	if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20)
		return ws.ws_col;
	return 80;
}

static void fmt_eta(char *buf, size_t cap, double secs)
{
	unsigned long s = (unsigned long)(secs + 0.5);
	if (s >= 3600)
		snprintf(buf, cap, "%lu:%02lu:%02lu", s / 3600, s / 60 % 60, s % 60);
	else
		snprintf(buf, cap, "%lu:%02lu", s / 60, s % 60);
}

/* The numbers part: "45% 12.3 MiB 5.6 MiB/s ETA 0:03" or, without a
 * total, "12.3 MiB 5.6 MiB/s". */
static void fmt_stats(const struct tftp_progress *p, uint64_t bytes,
		      uint64_t now_ms, int done, char *out, size_t cap)
{
	char got[32], rate[32], eta[32];
	double secs = (double)(now_ms - p->start_ms) / 1000.0;
	double bps = secs > 0.0 ? (double)bytes / secs : 0.0;
	tftp_human_bytes((double)bytes, got, sizeof(got));
	tftp_human_bytes(bps, rate, sizeof(rate));
	if (!p->have_total) {
		snprintf(out, cap, "%s  %s/s", got, rate);
		return;
	}
	unsigned pct = p->total ? (unsigned)(bytes * 100u / p->total) : 100u;
	if (pct > 100)
		pct = 100;
	if (done || bps <= 0.0 || bytes >= p->total)
		snprintf(eta, sizeof(eta), "%s", done ? "" : "--:--");
	else
		fmt_eta(eta, sizeof(eta), (double)(p->total - bytes) / bps);
	snprintf(out, cap, "%3u%%  %s  %s/s%s%s", pct, got, rate,
		 eta[0] ? "  ETA " : "", eta);
}

#define STATS_WIDTH 44u

static void draw(struct tftp_progress *p, uint64_t bytes, uint64_t now_ms,
		 int done)
{
	char stats[128], line[512], bar[256];
	unsigned width = term_width(p->fd);
	if (width > sizeof(line) - 1)
		width = (unsigned)sizeof(line) - 1;
	fmt_stats(p, bytes, now_ms, done, stats, sizeof(stats));
	/* The numbers take a fixed width ("100%  1023.9 MiB  1023.9 MiB/s
	 * ETA 0:00:00" at most), so the bar keeps its length as they grow
	 * and shrink. */
	size_t slen = strlen(stats);
	while (slen < STATS_WIDTH && slen < sizeof(stats) - 1)
		stats[slen++] = ' ';
	stats[slen] = '\0';
	/* label (at most a third of the line), the bar, the numbers */
	size_t lab = strlen(p->label);
	if (lab > width / 3)
		lab = width / 3;
	size_t used = lab + 1 + slen + 1;
	size_t barw = width > used + 4 ? width - used - 3 : 0;
	if (barw > sizeof(bar) - 1)
		barw = sizeof(bar) - 1;
	bar[0] = '\0';
	if (barw >= 4 && p->have_total) {
		size_t fill = p->total ? (size_t)((double)barw * (double)bytes /
						  (double)p->total)
				       : barw;
		if (fill > barw)
			fill = barw;
		memset(bar, '=', fill);
		memset(bar + fill, ' ', barw - fill);
		if (fill < barw && fill > 0)
			bar[fill - 1] = '>';
		bar[barw] = '\0';
	}
	if (bar[0])
		snprintf(line, sizeof(line), "\r%.*s [%s] %s", (int)lab, p->label,
			 bar, stats);
	else
		snprintf(line, sizeof(line), "\r%.*s  %s", (int)lab, p->label,
			 stats);
	/* Pad to the width so a shorter line wipes the previous one. */
	size_t n = strlen(line);
	while (n < (size_t)width && n < sizeof(line) - 1)
		line[n++] = ' ';
	line[n] = '\0';
	ssize_t w = write(p->fd, line, n);
	(void)w; /* a progress bar that cannot be drawn is not an error */
	p->drawn = 1;
}

void tftp_progress_update(struct tftp_progress *p, uint64_t bytes,
			  uint64_t now_ms)
{
	if (!p->enabled || now_ms < p->next_ms)
		return;
	p->next_ms = now_ms + REDRAW_MS;
	draw(p, bytes, now_ms, 0);
}

void tftp_progress_finish(struct tftp_progress *p, uint64_t bytes,
			  uint64_t now_ms, int ok)
{
	if (!p->enabled)
		return;
	if (ok) {
		draw(p, bytes, now_ms, 1);
		ssize_t w = write(p->fd, "\n", 1);
		(void)w;
	} else if (p->drawn) {
		char clr[512];
		unsigned width = term_width(p->fd);
		if (width > sizeof(clr) - 3)
			width = (unsigned)sizeof(clr) - 3;
		clr[0] = '\r';
		memset(clr + 1, ' ', width);
		clr[width + 1] = '\r';
		ssize_t w = write(p->fd, clr, width + 2u);
		(void)w;
	}
	p->drawn = 0;
}
