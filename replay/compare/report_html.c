/*
 * report_html.c - DIR/index.html: one self-contained page with every
 * chart, the summary table, the machine and the exact command line, so
 * a result can be shared and reproduced.  Opens from disk (file://), no
 * server: charts are relative links to charts/NAME.svg, the style is
 * inline.
 *
 * A few lines of script count the chart images that loaded and write
 * the count into the page (data-images-loaded on <body>), so a browser
 * check, ours in tests/compare/ included, can tell a broken report.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compare.h"

static void html_text(FILE *f, const char *s)
{
    for (; *s; s++)
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
}

static const char html_head[] =
"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
"<title>Mallard: allocator comparison</title>\n<style>\n"
"body{font-family:sans-serif;max-width:1000px;margin:2em auto;"
"color:#222}\n"
"table{border-collapse:collapse;margin:1em 0}\n"
"td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}\n"
"td:nth-child(-n+2),th:nth-child(-n+2){text-align:left}\n"
"code{background:#f4f4f4;padding:.1em .3em;word-break:break-all}\n"
".swatch{display:inline-block;width:.9em;height:.9em;"
"margin-right:.4em;vertical-align:middle}\n"
".note{background:#fff3cd;padding:.6em;border:1px solid #e0c060}\n"
".failed{color:#b00}\nfigure{margin:2em 0}\n"
".machine{color:#555;font-size:90%}\n"
"figure img{width:100%;border:1px solid #ddd}\n"
"</style></head>\n";

static const char html_script[] =
"<script>\nwindow.addEventListener('load', function () {\n"
"  var imgs = document.querySelectorAll('img.chart'), ok = 0;\n"
"  imgs.forEach(function (i) {\n"
"    if (i.complete && i.naturalWidth > 0) ok++;\n"
"    else i.insertAdjacentHTML('afterend',\n"
"      '<p class=\"failed\">chart did not load</p>');\n"
"  });\n"
"  document.body.setAttribute('data-images-loaded',\n"
"                             ok + '/' + imgs.length);\n"
"});\n</script>\n";

/* The command line and machine, from DIR/meta.txt. */
static void html_meta(FILE *f, const char *dir)
{
    char path[CMP_PATH_MAX], line[CMP_ERR_MAX];
    snprintf(path, sizeof(path), "%s/meta.txt", dir);
    FILE *in = fopen(path, "r");
    fputs("<h2>How this was made</h2>\n<table>\n", f);
    while (in && fgets(line, sizeof(line), in)) {
        line[strcspn(line, "\n")] = '\0';
        char *colon = strstr(line, ": ");
        if (!colon)
            continue;
        *colon = '\0';
        fputs("<tr><th>", f);
        html_text(f, line);
        fputs(strcmp(line, "command") == 0 ? "</th><td><code>" :
              "</th><td>", f);
        html_text(f, colon + 2);
        fputs(strcmp(line, "command") == 0 ? "</code></td></tr>\n" :
              "</td></tr>\n", f);
    }
    if (in)
        fclose(in);
    else
        fputs("<tr><td>meta.txt is missing</td></tr>\n", f);
    fputs("</table>\n", f);
}

static void html_num(FILE *f, const char *fmt, double v)
{
    fputs("<td>", f);
    if (isfinite(v))
        fprintf(f, fmt, v);
    else
        fputs("&ndash;", f);
    fputs("</td>", f);
}

/* A number cell; with mark (" !"), highlighted and marked. */
static void html_flagged(FILE *f, const char *fmt, double v,
                         const char *mark)
{
    fprintf(f, "<td%s>", mark ? " class=\"failed\"" : "");
    if (isfinite(v)) {
        fprintf(f, fmt, v);
        fputs(mark ? mark : "", f);
    } else {
        fputs("&ndash;", f);
    }
    fputs("</td>", f);
}

static void html_case(FILE *f, const struct cmp_stats *st, size_t a,
                      const struct cmp_case *c)
{
    char label[CMP_PATH_MAX], name[CMP_NAME_MAX];
    cmp_trace_label(c->trace, label, sizeof(label));
    cmp_display_name(st, c->allocator, name, sizeof(name));
    fputs("<tr><td>", f);
    html_text(f, label);
    fprintf(f, " &times;%d", c->instances);
    if (st->nmachines > 1 && c->machine) {
        fputs(" <span class=\"machine\">on ", f);
        html_text(f, c->machine);
        fputs("</span>", f);
    }
    fprintf(f, "</td><td><span class=\"swatch\" style=\""
            "background:%s\"></span>", cmp_colour(st, a));
    html_text(f, name);
    fprintf(f, "%s</td>", c->best ? " <b>best</b>" : "");
    html_num(f, "%.4f", c->wall_med);
    fprintf(f, "<td>");
    if (c->n_ok)
        fprintf(f, "%.4f&ndash;%.4f", c->wall_lo, c->wall_hi);
    fprintf(f, "</td>");
    fputs("<td>", f);
    if (isfinite(c->ratio))
        fprintf(f, "%.2f&times;%s", c->ratio, c->within_noise ? " ~" : "");
    else
        fputs("&ndash;", f);
    fputs("</td>", f);
    html_flagged(f, "%.1f", c->rss_med, c->live_differs ? " ^" : NULL);
    html_num(f, "%.2f", c->frag_med);
    html_num(f, "%.0f", c->lat_med[2]);
    html_flagged(f, "%.4f", c->edge_wait_med,
                 c->edge_wait_large ? " !" : NULL);
    fprintf(f, "<td>%d/%d</td><td class=\"failed\">", c->n_ok,
            c->n_ok + c->n_failed);
    if (c->failure) {
        html_text(f, c->failure->status);
        fputs(": ", f);
        html_text(f, c->failure->message);
    }
    fputs("</td></tr>\n", f);
}

static void html_table(FILE *f, const struct cmp_stats *st)
{
    fprintf(f, "<h2>Summary</h2>\n<p>Medians over runs; ratio is to "
            "<b>");
    html_text(f, st->baseline);
    fprintf(f, "</b> on the same trace; ~ marks a ratio whose 95%% "
            "interval contains 1 (within noise).  Edge wait: time "
            "threads waited for another thread's earlier op (the recorded "
            "order), summed; ! marks over %.0f%% of the wall time, where "
            "the time depends on that order as much as on the allocator.  "
            "^ marks peak memory of replays that held over %.2f&times; (or "
            "under 1/%.2f) the baseline's live bytes at their peak: "
            "threads ran ahead of the recorded order differently, so the "
            "figures compare different live sets (--max-lead keeps "
            "threads near their recorded pace).</p>\n%s"
            "<table>\n<tr><th>trace</th><th>allocator</th><th>time s"
            "</th><th>95%% interval</th><th>ratio</th><th>peak memory MiB"
            "</th><th>fragmentation</th><th>p99 ns</th><th>edge wait s"
            "</th><th>runs ok</th><th>failure</th></tr>\n",
            100.0 * CMP_EDGE_WAIT_SHARE, CMP_LIVE_SPREAD, CMP_LIVE_SPREAD,
            st->nmachines > 1 ?
            "<p>These runs come from more than one machine (the label "
            "after each trace, details at the end).  Every allocator of a "
            "trace ran on the same machine, and a ratio is only formed "
            "within one machine.</p>\n" : "");
    for (size_t t = 0; t < st->ntraces; t++)
        for (size_t k = 0; k < st->ninstances; k++)
            for (size_t a = 0; a < st->nallocators; a++) {
                const struct cmp_case *c = cmp_stats_find(st,
                        st->traces[t], st->allocators[a], st->instances[k]);
                if (c)
                    html_case(f, st, a, c);
            }
    fputs("</table>\n", f);
}

static void html_charts(FILE *f, const int *drawn)
{
    for (size_t i = 0; i < cmp_chart_count; i++) {
        const struct cmp_chart *c = &cmp_charts[i];
        fprintf(f, "<figure id=\"%s\"><h2>%s</h2>\n", c->name, c->title);
        if (drawn[i])
            fprintf(f, "<img class=\"chart\" src=\"charts/%s.svg\" "
                    "alt=\"%s\">\n<figcaption>%s <a href=\"charts/%s.png\">"
                    "PNG</a> <a href=\"charts/%s.svg\">SVG</a>"
                    "</figcaption>\n", c->name, c->title, c->caption,
                    c->name, c->name);
        else
            fputs("<p class=\"note\">not drawn (see the note above)</p>\n",
                  f);
        fputs("</figure>\n", f);
    }
}

int cmp_report_html(const char *dir, const struct cmp_stats *st,
                    const int *drawn, const char *plot_note, char *err,
                    size_t err_len)
{
    char path[CMP_PATH_MAX];
    snprintf(path, sizeof(path), "%s/index.html", dir);
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, err_len, "%s: cannot write", path);
        return -1;
    }
    fputs(html_head, f);
    fputs("<body>\n<h1>Mallard: allocator comparison</h1>\n", f);
    if (plot_note && *plot_note) {
        fputs("<p class=\"note\">", f);
        html_text(f, plot_note);
        fputs("</p>\n", f);
    }
    html_table(f, st);
    html_charts(f, drawn);
    html_meta(f, dir);
    fputs("<p>Raw data: <a href=\"results.csv\">results.csv</a> (one row "
          "per run), <a href=\"summary.json\">summary.json</a>.</p>\n", f);
    fputs(html_script, f);
    fputs("</body></html>\n", f);
    if (fclose(f) != 0) {
        snprintf(err, err_len, "%s: cannot write", path);
        return -1;
    }
    return 0;
}
