#!/usr/bin/env python3
"""gen_sql.py - writes the SQL workload of the sqlite3 trace to stdout.

An orders database the way a small shop's back office would use one:
bulk loads in transactions, indexes built afterwards, joins with
grouping, updates and deletes, text search with LIKE.  PRAGMA threads
lets sqlite's sorter use a helper thread for the big sorts (index
builds, ORDER BY), so the trace has cross-thread traffic.  The seed is
fixed so every run writes the same file.

usage: gen_sql.py [CUSTOMERS] [ORDERS]   (defaults 2000, 20000)
"""
import random
import sys

SEED = 6
WORDS = ("red blue green small large steel oak linen wool glass paper "
         "lamp chair table mug shelf rug clock vase bowl desk").split()


def product_name(rng):
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 4)))


def emit_schema(out):
    out.write("PRAGMA threads=2;\nPRAGMA cache_size=-1000;\n"
              "CREATE TABLE customer(id INTEGER PRIMARY KEY, name TEXT,"
              " city TEXT, since INTEGER);\n"
              "CREATE TABLE product(id INTEGER PRIMARY KEY, name TEXT,"
              " price REAL);\n"
              "CREATE TABLE orders(id INTEGER PRIMARY KEY, customer "
              "INTEGER, product INTEGER, qty INTEGER, note TEXT);\n")


def emit_rows(out, rng, customers, orders):
    out.write("BEGIN;\n")
    for i in range(customers):
        out.write("INSERT INTO customer VALUES(%d,'cust%d','city%d',%d);\n"
                  % (i, rng.randrange(10**6), rng.randrange(200),
                     rng.randrange(2000, 2026)))
    for i in range(customers // 4):
        out.write("INSERT INTO product VALUES(%d,'%s',%.2f);\n"
                  % (i, product_name(rng), rng.uniform(1, 500)))
    for i in range(orders):
        note = "x" * rng.randrange(0, 300)
        out.write("INSERT INTO orders VALUES(%d,%d,%d,%d,'%s');\n"
                  % (i, rng.randrange(customers),
                     rng.randrange(customers // 4), rng.randint(1, 9),
                     note))
    out.write("COMMIT;\n")


def emit_queries(out, rng):
    out.write("CREATE INDEX orders_customer ON orders(customer);\n"
              "CREATE INDEX orders_note ON orders(note, qty);\n"
              "CREATE INDEX customer_city ON customer(city, name);\n")
    out.write("SELECT c.city, count(*), sum(o.qty * p.price) FROM orders o"
              " JOIN customer c ON c.id = o.customer JOIN product p ON "
              "p.id = o.product GROUP BY c.city ORDER BY 3 DESC LIMIT 5;\n")
    out.write("SELECT name, length(note) FROM orders JOIN product ON "
              "product.id = orders.product ORDER BY note, name LIMIT 3;\n")
    for _ in range(200):
        out.write("UPDATE orders SET qty = qty + 1, note = note || 'y' "
                  "WHERE customer = %d;\n" % rng.randrange(4000))
    out.write("SELECT count(*) FROM product WHERE name LIKE '%oak%';\n"
              "DELETE FROM orders WHERE qty > 8;\n"
              "SELECT customer, group_concat(id) FROM orders "
              "GROUP BY customer ORDER BY customer DESC LIMIT 2;\n"
              "VACUUM;\n")


def main():
    customers = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    orders = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
    rng = random.Random(SEED)
    emit_schema(sys.stdout)
    emit_rows(sys.stdout, rng, customers, orders)
    emit_queries(sys.stdout, rng)


if __name__ == "__main__":
    main()
