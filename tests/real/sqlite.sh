#!/bin/sh
# sqlite.sh - the sqlite3 shell on the allocator under test.
#
# A generated SQL workload: tens of thousands of inserts in transactions,
# indexes built afterwards, joins, grouping, sorting and an update pass.
# SQLite allocates its page cache, statements and result rows with
# malloc, so a broken realloc or a reused live block shows up as a wrong
# query result or a corrupt database.  Both runs must print the same
# results and pass PRAGMA integrity_check.
. "$(dirname "$0")/lib.sh"
real_init "$@"
real_need sqlite3 sqlite3
real_need awk mawk

ROWS=50000
awk -v rows=$ROWS 'BEGIN {
    srand(42)
    print "PRAGMA cache_size = 200;"
    print "CREATE TABLE item(id INTEGER PRIMARY KEY, cat INT, name TEXT,"
    print "                  price REAL, note TEXT);"
    print "CREATE TABLE cat(id INTEGER PRIMARY KEY, label TEXT);"
    for (c = 0; c < 50; c++)
        printf "INSERT INTO cat VALUES(%d, %cgroup-%d%c);\n", c, 39, c, 39
    print "BEGIN;"
    for (i = 0; i < rows; i++) {
        n = int(rand() * 200)
        printf "INSERT INTO item VALUES(%d, %d, %citem%d%c, %.2f, ",
               i, int(rand() * 50), 39, int(rand() * 100000), 39,
               rand() * 1000
        printf "%c%s%c);\n", 39, substr("abcdefghij", 1 + i % 10) \
               sprintf("%0" n "d", 0), 39
        if (i % 5000 == 4999) { print "COMMIT;"; print "BEGIN;" }
    }
    print "COMMIT;"
    print "CREATE INDEX item_cat ON item(cat, price);"
    print "CREATE INDEX item_name ON item(name);"
    print "SELECT c.label, count(*), round(sum(i.price), 2),"
    print "       max(length(i.note))"
    print "  FROM item i JOIN cat c ON c.id = i.cat"
    print " GROUP BY c.label ORDER BY c.label;"
    print "SELECT name, price FROM item ORDER BY price DESC, id LIMIT 20;"
    print "UPDATE item SET note = note || note WHERE id % 7 = 0;"
    print "SELECT count(*), sum(length(note)) FROM item;"
    print "SELECT name, count(*) FROM item GROUP BY name"
    print " HAVING count(*) > 1 ORDER BY 2 DESC, 1 LIMIT 10;"
    print "DELETE FROM item WHERE cat % 3 = 0;"
    print "VACUUM;"
    print "SELECT count(*) FROM item;"
    print "PRAGMA integrity_check;"
}' >"$REAL_TMP/work.sql"

real_run sqlite sh -c 'rm -f db.sqlite && sqlite3 db.sqlite <work.sql'
real_compare sqlite
grep -qx ok "$REAL_TMP/sqlite.preload.out" ||
    real_fail "sqlite: integrity_check did not print ok"
