/* Unit tests of engine/ddl: DDL read and rewritten on tokens. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "binlog/binlog.h"
#include "engine/ddl.h"
#include "lib/buf.h"
#include "lib/err.h"
#include "lib/sqllex.h"

/* A spec with database app (renamed app2): tables orders (renamed orders2,
 * some columns, two renamed) and customers (renamed clients, id renamed
 * cid); database shop, not renamed. */
static char *orders_cols[] = {"id", "customer_id", "total", "total_x2", "seq"};
static struct column_rename orders_ren[] = {{"total", "amount"}, {"customer_id", "buyer"}};
static struct column_rename cust_ren[] = {{"id", "cid"}};
static struct table_sel app_tables[] = {
    {"orders", "orders2", orders_cols, 5, orders_ren, 2, NULL},
    {"customers", "clients", NULL, 0, cust_ren, 1, NULL},
};
static struct object_sel objects[] = {
    {"app", "app2", NULL, 0, app_tables, 2},
    {"shop", NULL, NULL, 0, NULL, 0},
};
static struct spec spec = {.objects = objects, .nobjects = 2};

static void test_mode_flags(void **state)
{
	(void)state;
	assert_int_equal(ddl_mode_flags(NULL), 0);
	assert_int_equal(ddl_mode_flags("STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION"), 0);
	assert_int_equal(ddl_mode_flags("ANSI_QUOTES"), SQLLEX_ANSI_QUOTES);
	assert_int_equal(ddl_mode_flags("REAL_AS_FLOAT,ANSI"), SQLLEX_ANSI_QUOTES);
	assert_int_equal(ddl_mode_flags("NO_BACKSLASH_ESCAPES,ANSI_QUOTES"),
			 SQLLEX_ANSI_QUOTES | SQLLEX_NO_BACKSLASH_ESCAPES);
	assert_int_equal(ddl_mode_flags("NO_BACKSLASH_ESCAPES_X,XANSI"), 0);
}

/* ddl_parse of sql into *d (released by the caller), which must say want. */
static void parse_into(struct ddl_stmt *d, const char *sql, unsigned flags, bool want)
{
	int r = ddl_parse(d, sql, strlen(sql), flags);

	if (r != (want ? 1 : 0))
		fail_msg("ddl_parse(%s) is %d", sql, r);
	if (!want)
		assert_int_equal(d->ntables, 0);
}

/* The tables of a statement as "db.table>new_db.new_table ..." ("" db
 * parts left out), and its verb and list flags. */
static void tables(const char *sql, unsigned flags, enum ddl_verb verb, const char *want)
{
	struct ddl_stmt d;
	struct buf b = BUF_INIT;
	size_t i;

	parse_into(&d, sql, flags, true);
	assert_int_equal(d.verb, verb);
	for (i = 0; i < d.ntables; i++) {
		const struct ddl_table *t = &d.tables[i];
		assert_true(t->start < t->end && t->end <= strlen(sql));
		assert_int_equal(
		    buf_printf(&b, "%s%s%s%s", i ? " " : "", t->db, t->db[0] ? "." : "", t->table),
		    0);
		if (t->has_new_name) {
			assert_true(t->new_end > t->end && t->new_end <= strlen(sql));
			assert_int_equal(buf_printf(&b, ">%s%s%s", t->new_db,
						    t->new_db[0] ? "." : "", t->new_table),
					 0);
		}
	}
	if (d.unread)
		assert_int_equal(buf_puts(&b, " ?"), 0);
	assert_string_equal(buf_cstr(&b), want);
	buf_release(&b);
	ddl_stmt_release(&d);
}

static void test_parse(void **state)
{
	struct ddl_stmt d;
	const char *sql;

	(void)state;
	sql = "CREATE TABLE `a`.`b` (x int)";
	parse_into(&d, sql, 0, true);
	assert_int_equal(d.verb, DDL_CREATE);
	assert_int_equal(d.ntables, 1);
	assert_string_equal(d.tables[0].db, "a");
	assert_string_equal(d.tables[0].table, "b");
	assert_int_equal(d.tables[0].start, 13);
	assert_int_equal(d.tables[0].end, 20);
	assert_false(d.renames_table || d.list);
	ddl_stmt_release(&d);

	tables("/* x */ ALTER /*!50100 ONLINE */ IGNORE TABLE t ADD c INT", 0, DDL_ALTER, "t");
	parse_into(&d, "ALTER TABLE t RENAME TO x.u", 0, true);
	assert_true(d.renames_table && d.tables[0].has_new_name && !d.list);
	ddl_stmt_release(&d);
	tables("ALTER TABLE t RENAME TO x.u", 0, DDL_ALTER, "t>x.u");
	tables("ALTER TABLE t ADD y INT, RENAME AS `v`", 0, DDL_ALTER, "t>v");
	tables("ALTER TABLE t RENAME COLUMN a TO b, RENAME INDEX i TO j", 0, DDL_ALTER, "t");
	tables("ALTER TABLE t RENAME KEY i TO j, COMMENT 'RENAME me', ADD `RENAME` INT", 0,
	       DDL_ALTER, "t");
	tables("ALTER TABLE t RENAME TO", 0, DDL_ALTER, "t ?");
	tables("CREATE UNIQUE INDEX IF NOT EXISTS i ON db.t (a)", 0, DDL_CREATE, "db.t");
	tables("DROP INDEX `i` ON t", 0, DDL_DROP, "t");
	tables("CREATE OR REPLACE ALGORITHM=UNDEFINED DEFINER=`TRIGGER`@`%` SQL SECURITY "
	       "DEFINER VIEW v AS SELECT 1",
	       0, DDL_CREATE, "v");
	tables("TRUNCATE t", 0, DDL_TRUNCATE, "t");
	tables("TRUNCATE TABLE `d`.`t`", 0, DDL_TRUNCATE, "d.t");
	tables("CREATE TABLE `a\nKEY k (id)) COMMENT='` (x int)", 0, DDL_CREATE,
	       "a\nKEY k (id)) COMMENT='");
	tables("CREATE TABLE t2 LIKE t1", 0, DDL_CREATE, "t2");
	parse_into(&d, "CREATE DATABASE IF NOT EXISTS `x\ny`", 0, true);
	assert_true(d.on_database);
	assert_string_equal(d.db, "x\ny");
	ddl_stmt_release(&d);
	parse_into(&d, "DROP SCHEMA s", 0, true);
	assert_true(d.on_database && d.verb == DDL_DROP);
	ddl_stmt_release(&d);
	parse_into(&d,
		   "CREATE DEFINER=`root`@`%` TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET @x=1",
		   0, false);
	parse_into(&d, "DROP PROCEDURE IF EXISTS p", 0, false);
	parse_into(&d, "CREATE USER 'table'@'%'", 0, false);
	parse_into(&d, "BEGIN", 0, false);
	parse_into(&d, "SELECT * FROM t", 0, false);
	parse_into(&d, "WITH c AS (SELECT 1) SELECT * FROM c", 0, false);
	parse_into(&d, "LOAD INDEX INTO CACHE t", 0, false);
	parse_into(&d, "SET STATEMENT x = 1 FOR SELECT 1", 0, false);
	parse_into(&d, "SET @a = 1", 0, false);
	parse_into(&d, "SET STATEMENT x = 1", 0, false);
	parse_into(&d, "", 0, false);
	parse_into(&d, "CREATE TABLE", 0, false);
	parse_into(&d, "ALTER TABLE `open", 0, false);
}

/* Every table of DROP and RENAME lists. */
static void test_parse_lists(void **state)
{
	struct ddl_stmt d;

	(void)state;
	tables("DROP TABLE IF EXISTS `x``y`, z", 0, DDL_DROP, "x`y z");
	tables("DROP TABLE a.t1, t2 ,`b` . `t3` /* generated by server */", 0, DDL_DROP,
	       "a.t1 t2 b.t3");
	tables("DROP TEMPORARY TABLES IF EXISTS t1, t2 CASCADE", 0, DDL_DROP, "t1 t2");
	tables("DROP VIEW v1, db.v2", 0, DDL_DROP, "v1 db.v2");
	tables("RENAME TABLE a.t TO b.u, c TO d", 0, DDL_RENAME, "a.t>b.u c>d");
	tables("RENAME TABLE t1 TO tmp, t2 TO t1, tmp TO t2", 0, DDL_RENAME, "t1>tmp t2>t1 tmp>t2");
	tables("RENAME TABLE a TO b, c", 0, DDL_RENAME, "a>b c ?");
	tables("DROP TABLE a, 'b'", 0, DDL_DROP, "a ?");
	/* the list's bytes: from the first name to the last one's end */
	parse_into(&d, "RENAME TABLE a TO `b`, c TO d -- x", 0, true);
	assert_true(d.list && d.renames_table);
	assert_int_equal(d.tables[0].start, 13);
	assert_int_equal(d.tables[1].new_end, 29);
	ddl_stmt_release(&d);
	/* names quoted as the session's sql_mode says */
	tables("DROP TABLE \"a\"\"b\", \"c\".\"d\"", SQLLEX_ANSI_QUOTES, DDL_DROP, "a\"b c.d");
	/* (without ANSI_QUOTES those are strings: no table) */
	parse_into(&d, "DROP TABLE \"a\"\"b\", \"c\".\"d\"", 0, false);
}

/* Statement-format DML: the tables it writes, or may write. */
static void test_parse_dml(void **state)
{
	(void)state;
	tables("INSERT INTO t VALUES (1)", 0, DDL_INSERT, "t");
	tables("INSERT LOW_PRIORITY IGNORE db.t (a) SELECT * FROM s", 0, DDL_INSERT, "db.t");
	tables("insert into t partition (p0) values (1) on duplicate key update a = 2", 0,
	       DDL_INSERT, "t");
	tables("REPLACE DELAYED INTO `t` SET a = 1", 0, DDL_REPLACE, "t");
	tables("UPDATE t SET a = 1", 0, DDL_UPDATE, "t");
	tables("UPDATE LOW_PRIORITY IGNORE a.t1 AS x JOIN t2 y ON x.id = y.id, "
	       "(t3 LEFT JOIN t4 USING (id)) SET x.a = (SELECT MAX(b) FROM t5)",
	       0, DDL_UPDATE, "a.t1 t2 t3 t4");
	tables("UPDATE t1 FORCE INDEX FOR JOIN (i1) JOIN t2 ON t1.a IN (SELECT b FROM t6 JOIN t7) "
	       "SET t1.a = 1",
	       0, DDL_UPDATE, "t1 t2");
	tables("UPDATE (SELECT * FROM t8) AS d JOIN t9 SET t9.a = d.a", 0, DDL_UPDATE, "t9");
	tables("UPDATE t1 JOIN LATERAL (SELECT 1) AS l SET t1.a = 1", 0, DDL_UPDATE, "t1");
	tables("DELETE FROM t WHERE a = 1", 0, DDL_DELETE, "t");
	tables("DELETE QUICK IGNORE FROM db.t PARTITION (p1) ORDER BY id LIMIT 5", 0, DDL_DELETE,
	       "db.t");
	tables("DELETE t1, t2.* FROM t1 INNER JOIN t2 ON t1.id = t2.id "
	       "WHERE t1.x IN (SELECT x FROM t3)",
	       0, DDL_DELETE, "t1 t2");
	tables("DELETE FROM t1.*, t2 USING t1 JOIN t2 USING (id) JOIN t3 WHERE 1", 0, DDL_DELETE,
	       "t1 t2 t1 t2 t3");
	tables("WITH c AS (SELECT id FROM t0) DELETE t1 FROM t1 JOIN c USING (id)", 0, DDL_DELETE,
	       "t1 c");
	tables("LOAD DATA LOCAL INFILE 'f INTO TABLE x' REPLACE INTO TABLE db.t (a, b)", 0,
	       DDL_LOAD, "db.t");
	tables("LOAD XML INFILE 'f' INTO TABLE t", 0, DDL_LOAD, "t");
	tables("/*!40000 ALTER TABLE `t` DISABLE KEYS */", 0, DDL_ALTER, "t");
	tables("SET STATEMENT max_statement_time = 60, sql_mode = CONCAT('A', 'FOR') FOR "
	       "UPDATE t SET a = 1",
	       0, DDL_UPDATE, "t");
	tables("SET STATEMENT lock_wait_timeout = 5 FOR DROP TABLE a, b", 0, DDL_DROP, "a b");
	/* a name in ANSI quotes */
	tables("INSERT INTO \"d\".\"t\" VALUES (\"x\")", SQLLEX_ANSI_QUOTES, DDL_INSERT, "d.t");
	tables("INSERT INTO 'x'", 0, DDL_INSERT, " ?");
	assert_true(ddl_verb_dml(DDL_LOAD) && ddl_verb_dml(DDL_INSERT) && !ddl_verb_dml(DDL_DROP));
	assert_string_equal(ddl_verb_name(DDL_LOAD), "LOAD DATA");
}

static void test_mode_bits(void **state)
{
	(void)state;
	assert_int_equal(ddl_mode_bits_flags(0x45a00020), 0); /* MySQL 8.0's default */
	assert_int_equal(ddl_mode_bits_flags(BINLOG_SQL_MODE_ANSI_QUOTES), SQLLEX_ANSI_QUOTES);
	assert_int_equal(ddl_mode_bits_flags(0x45a00020 | BINLOG_SQL_MODE_NO_BACKSLASH_ESCAPES),
			 SQLLEX_NO_BACKSLASH_ESCAPES);
	assert_int_equal(ddl_mode_bits_flags(4 | (1 << 20)),
			 SQLLEX_ANSI_QUOTES | SQLLEX_NO_BACKSLASH_ESCAPES);
}

/* A spec for the applier's plans: app (renamed app2) whole but tmp_*;
 * shop with items (renamed items_b) and people (two columns) listed;
 * plain whole. */
static char *tmp_glob[] = {"tmp_*"};
static char *people_cols[] = {"id", "name"};
static struct table_sel shop_tables[] = {
    {"items", "items_b", NULL, 0, NULL, 0, NULL},
    {"people", NULL, people_cols, 2, NULL, 0, NULL},
};
static struct object_sel plan_objects[] = {
    {"app", "app2", tmp_glob, 1, NULL, 0},
    {"shop", NULL, NULL, 0, shop_tables, 2},
    {"plain", NULL, NULL, 0, NULL, 0},
};
static struct spec plan_spec = {.objects = plan_objects, .nobjects = 3};

/* What the applier does with sql run in database session: want, and the
 * statement applied (then use, the database used) or a part of the
 * reason. */
static void plan(const char *sql, unsigned flags, const char *session, enum ddl_action want,
		 const char *text, const char *use)
{
	struct ddl_stmt d;
	struct ddl_plan p;
	int r = ddl_parse(&d, sql, strlen(sql), flags);

	assert_true(r >= 0);
	if (r == 0) {
		assert_int_equal(want, DDL_SKIP);
		return;
	}
	assert_int_equal(ddl_plan(&p, &d, sql, strlen(sql), flags, session, &plan_spec), 0);
	if (p.action != want)
		fail_msg("%s: action %d, not %d (%s)", sql, p.action, want, buf_cstr(&p.reason));
	if (want == DDL_APPLY) {
		assert_string_equal(buf_cstr(&p.sql), text);
		assert_string_equal(buf_cstr(&p.use_db), use);
	} else if (want == DDL_REFUSE) {
		if (!strstr(buf_cstr(&p.reason), text))
			fail_msg("%s: the reason is '%s'", sql, buf_cstr(&p.reason));
	}
	ddl_plan_release(&p);
	ddl_stmt_release(&d);
}

static void test_plan(void **state)
{
	(void)state;
	/* lists: the selected tables only, each under its destination name */
	plan("DROP TABLE a, other.x, b", 0, "app", DDL_APPLY, "DROP TABLE `app2`.`a`, `app2`.`b`",
	     "app2");
	plan("DROP TABLE IF EXISTS other.x, y, app.tmp_1", 0, "other", DDL_SKIP, NULL, NULL);
	plan("DROP TABLE shop.items, shop.people,shop.nope /* generated by server */", 0, "",
	     DDL_APPLY, "DROP TABLE `shop`.`items_b`, `shop`.`people` /* generated by server */",
	     "shop");
	plan("DROP TABLE IF EXISTS `x`, `app`.`a``b`, plain.c", 0, "other", DDL_APPLY,
	     "DROP TABLE IF EXISTS `app2`.`a``b`, `plain`.`c`", "app2");
	plan("DROP VIEW app.v1, other.v2", 0, "", DDL_APPLY, "DROP VIEW `app2`.`v1`", "app2");
	plan("RENAME TABLE app.a TO app.b, other.c TO other.d", 0, "plain", DDL_APPLY,
	     "RENAME TABLE `app2`.`a` TO `app2`.`b`", "plain");
	plan("RENAME TABLE a TO b, c TO d", 0, "app", DDL_APPLY,
	     "RENAME TABLE `app2`.`a` TO `app2`.`b`, `app2`.`c` TO `app2`.`d`", "app2");
	plan("RENAME TABLE app.x TO plain.x", 0, "", DDL_APPLY,
	     "RENAME TABLE `app2`.`x` TO `plain`.`x`", "app2");
	/* (an unqualified new name is the session database's) */
	plan("RENAME TABLE app.x TO y", 0, "plain", DDL_APPLY,
	     "RENAME TABLE `app2`.`x` TO `plain`.`y`", "plain");
	plan("RENAME TABLE app.x TO y", 0, "other", DDL_REFUSE,
	     "RENAME of app.x to other.y cannot be applied safely: the new name is not selected",
	     NULL);
	/* into and out of the selection, a listed table */
	plan("RENAME TABLE b TO c, a TO tmp_a", 0, "app", DDL_REFUSE,
	     "RENAME of app.a to app.tmp_a cannot be applied safely: the new name is not selected",
	     NULL);
	plan("RENAME TABLE other.c TO x, app.tmp_2 TO app.d", 0, "", DDL_REFUSE,
	     "RENAME of app.tmp_2 to the selected name app.d cannot be applied safely: the "
	     "destination never had its rows",
	     NULL);
	plan("RENAME TABLE shop.items TO shop.items2", 0, "", DDL_REFUSE,
	     "RENAME of shop.items cannot be applied safely: the table is listed in the spec",
	     NULL);
	plan("ALTER TABLE app.t RENAME TO other.t", 0, "", DDL_REFUSE,
	     "RENAME of app.t to other.t cannot be applied safely", NULL);
	plan("ALTER TABLE t ADD c INT, RENAME TO u", 0, "app", DDL_APPLY,
	     "ALTER TABLE `app2`.`t` ADD c INT, RENAME TO u", "app2");
	plan("RENAME TABLE a TO b, c", 0, "app", DDL_REFUSE, "cannot be read", NULL);
	/* column selections */
	plan("ALTER TABLE shop.people ADD c INT", 0, "", DDL_REFUSE,
	     "DDL on shop.people cannot be applied safely: the spec selects or renames its columns",
	     NULL);
	plan("TRUNCATE shop.people", 0, "", DDL_APPLY, "TRUNCATE `shop`.`people`", "shop");
	plan("ALTER TABLE items ADD INDEX i (a)", 0, "shop", DDL_APPLY,
	     "ALTER TABLE `shop`.`items_b` ADD INDEX i (a)", "shop");
	plan("CREATE TABLE shop.nope (id INT)", 0, "", DDL_SKIP, NULL, NULL);
	/* databases */
	plan("CREATE DATABASE app", 0, "", DDL_SKIP, NULL, NULL);
	plan("DROP DATABASE IF EXISTS app", 0, "", DDL_REFUSE, "the source dropped database app",
	     NULL);
	plan("ALTER DATABASE plain CHARACTER SET utf8mb4", 0, "", DDL_REFUSE,
	     "DDL on database plain cannot be applied safely", NULL);
	plan("DROP DATABASE other", 0, "", DDL_SKIP, NULL, NULL);
	/* the session's sql_mode: names in ANSI quotes, strings without
	 * backslash escapes; the rest as it is */
	plan("CREATE TABLE \"t\" (\"id\" INT, v VARCHAR(9) DEFAULT 'a''\"') COMMENT 'app.t'",
	     SQLLEX_ANSI_QUOTES, "app", DDL_APPLY,
	     "CREATE TABLE `app2`.`t` (\"id\" INT, v VARCHAR(9) DEFAULT 'a''\"') COMMENT 'app.t'",
	     "app2");
	plan("CREATE TABLE \"t\" (\"id\" INT)", 0, "app", DDL_SKIP, NULL, NULL);
	plan("RENAME TABLE \"app\".\"a\" TO \"app\".\"b\"", SQLLEX_ANSI_QUOTES, "", DDL_APPLY,
	     "RENAME TABLE `app2`.`a` TO `app2`.`b`", "app2");
	plan("CREATE VIEW v AS SELECT 'x\\' AS c FROM app.t", SQLLEX_NO_BACKSLASH_ESCAPES, "app",
	     DDL_APPLY, "CREATE VIEW `app2`.`v` AS SELECT 'x\\' AS c FROM `app2`.t", "app2");
	plan("CREATE VIEW v AS SELECT 'x\\' AS c FROM app.t", 0, "app", DDL_APPLY,
	     "CREATE VIEW `app2`.`v` AS SELECT 'x\\' AS c FROM app.t", "app2");
	/* statement-format DML on a selected table stops the task */
	plan("INSERT INTO t VALUES (1)", 0, "app", DDL_REFUSE,
	     "a statement-based INSERT on app.t cannot be applied: the rows it changed are not in "
	     "the binlog",
	     NULL);
	plan("INSERT INTO t VALUES (1)", 0, "other", DDL_SKIP, NULL, NULL);
	plan("INSERT INTO app.tmp_x VALUES (1)", 0, "", DDL_SKIP, NULL, NULL);
	plan("UPDATE other.u JOIN app.t ON u.id = t.id SET u.x = 1", 0, "", DDL_REFUSE,
	     "UPDATE on app.t", NULL);
	plan("REPLACE INTO percona.checksums SELECT COUNT(*) FROM app.t", 0, "", DDL_SKIP, NULL,
	     NULL);
	plan("DELETE FROM people WHERE id = 1", 0, "shop", DDL_REFUSE, "DELETE on shop.people",
	     NULL);
	plan("DELETE FROM shop.nope", 0, "", DDL_SKIP, NULL, NULL);
	plan("LOAD DATA INFILE '/tmp/x' INTO TABLE plain.t", 0, "", DDL_REFUSE,
	     "LOAD DATA on plain.t", NULL);
	plan("INSERT INTO \"app\".\"t\" VALUES (1)", SQLLEX_ANSI_QUOTES, "", DDL_REFUSE,
	     "INSERT on app.t", NULL);
	plan("INSERT INTO 'x' VALUES (1)", 0, "app", DDL_REFUSE,
	     "names a table that cannot be read", NULL);
	plan("INSERT INTO 'x' VALUES (1)", 0, "other", DDL_SKIP, NULL, NULL);
	plan("SET STATEMENT max_statement_time = 5 FOR DELETE FROM app.t LIMIT 1", 0, "",
	     DDL_REFUSE, "DELETE on app.t", NULL);
}

static void map(const char *in, unsigned flags, const char *want)
{
	struct buf b = BUF_INIT;

	assert_int_equal(ddl_map_databases(&b, in, strlen(in), flags, &spec), 0);
	assert_string_equal(buf_cstr(&b), want);
	buf_release(&b);
}

static void test_map_databases(void **state)
{
	(void)state;
	/* the literal is data; both references are renamed */
	map("SELECT '`app`.t is old', x FROM `app`.t JOIN app.u", 0,
	    "SELECT '`app`.t is old', x FROM `app2`.t JOIN `app2`.u");
	map("SELECT app . t, `app`.`t`.`c`, app.*, t.app.x, other.app FROM app", 0,
	    "SELECT `app2` . t, `app2`.`t`.`c`, `app2`.*, t.app.x, other.app FROM app");
	map("SET @app.x = 'app.t'; -- app.t\n# app.t\n/* app.t */ /*!50001 app.t */ APP.t", 0,
	    "SET @app.x = 'app.t'; -- app.t\n# app.t\n/* app.t */ /*!50001 `app2`.t */ APP.t");
	map("SELECT \"app\".t", 0, "SELECT \"app\".t");
	map("SELECT \"app\".t", SQLLEX_ANSI_QUOTES, "SELECT `app2`.t");
	map("CALL shop.p(); SELECT `app`", 0, "CALL shop.p(); SELECT `app`");
	map("x 'open app.t", 0, "x 'open app.t");
}

static void test_db_in_strings(void **state)
{
	const char *a = "SET @s = CONCAT('SELECT * FROM ', 'APP', '.t'); -- app.t";
	const char *b = "SELECT 'application', \"an app_x\" /* app */, app.t";
	const char *c = "SELECT 'shop.t'";

	(void)state;
	assert_string_equal(ddl_db_in_strings(a, strlen(a), 0, &spec), "app");
	assert_null(ddl_db_in_strings(b, strlen(b), 0, &spec));
	assert_null(ddl_db_in_strings(c, strlen(c), 0, &spec));
}

static const char attack[] =
    "CREATE TABLE `t` (\n"
    "  `id` int(11) NOT NULL,\n"
    "  `u` varchar(512) DEFAULT NULL,\n"
    "  PRIMARY KEY (`id`),\n"
    "  CONSTRAINT `x\n"
    "KEY k (id)) COMMENT='` CHECK (`id` > 0)\n"
    ") ENGINE=InnoDB DEFAULT CHARSET=latin1 COMMENT=' SELECT ROW_NUMBER() OVER () + 1000 AS id, "
    "CONCAT(User,0x40,Host,0x3a,authentication_string) AS u FROM mysql.user # FOREIGN KEY '";

/* The issue's attack: the name of the CHECK constraint stays one name, the
 * table comment one string; the statement is the source's. */
static void test_create_attack(void **state)
{
	struct ddl_create c;
	struct gw_err err = GW_ERR_INIT;

	(void)state;
	assert_int_equal(ddl_create_table(&c, attack, strlen(attack), &spec, "shop", "t", NULL,
					  "shop", "t", &err),
			 0);
	assert_string_equal(
	    buf_cstr(&c.sql),
	    "CREATE TABLE IF NOT EXISTS `shop`.`t` (\n"
	    "  `id` int(11) NOT NULL,\n"
	    "  `u` varchar(512) DEFAULT NULL,\n"
	    "  PRIMARY KEY (`id`),\n"
	    "  CONSTRAINT `x\n"
	    "KEY k (id)) COMMENT='` CHECK (`id` > 0)\n"
	    ") ENGINE=InnoDB DEFAULT CHARSET=latin1 COMMENT=' SELECT ROW_NUMBER() OVER () + 1000 "
	    "AS "
	    "id, CONCAT(User,0x40,Host,0x3a,authentication_string) AS u FROM mysql.user # FOREIGN "
	    "KEY '");
	assert_int_equal(c.nfks, 0);
	assert_int_equal(c.nskips, 0);
	ddl_create_release(&c);
}

static const char orders[] =
    "CREATE TABLE `orders` (\n"
    "  `id` int(11) NOT NULL AUTO_INCREMENT,\n"
    "  `customer_id` int(11) NOT NULL,\n"
    "  `total` decimal(10,2) NOT NULL DEFAULT 0.00 COMMENT 'see `total`',\n"
    "  `note` text DEFAULT NULL,\n"
    "  `total_x2` decimal(11,2) GENERATED ALWAYS AS (`total` * 2) STORED,\n"
    "  `note_len` int(11) GENERATED ALWAYS AS (char_length(`note`)) VIRTUAL,\n"
    "  `seq` int(11) DEFAULT nextval(`app`.`s`),\n"
    "  PRIMARY KEY (`id`,`total`),\n"
    "  KEY `customer_id` (`customer_id`),\n"
    "  KEY `total` (`total`,`customer_id`) COMMENT 'on `total`',\n"
    "  FULLTEXT KEY `ft_note` (`note`),\n"
    "  CONSTRAINT `fk_c` FOREIGN KEY (`customer_id`) REFERENCES `customers` (`id`) ON DELETE "
    "CASCADE,\n"
    "  CONSTRAINT `fk_n` FOREIGN KEY (`note_len`) REFERENCES `other`.`x` (`y`),\n"
    "  CONSTRAINT `fk_s` FOREIGN KEY (`id`) REFERENCES `shop`.`t` (`id`),\n"
    "  CONSTRAINT `chk` CHECK (`total` >= 0)\n"
    ") ENGINE=InnoDB COMMENT='total' PARTITION BY RANGE (`total`) (PARTITION `total` VALUES LESS "
    "THAN (10),\n PARTITION p1 VALUES LESS THAN MAXVALUE)";

static void test_create_subset(void **state)
{
	struct ddl_create c;
	struct gw_err err = GW_ERR_INIT;

	(void)state;
	assert_int_equal(ddl_create_table(&c, orders, strlen(orders), &spec, "app", "orders",
					  &app_tables[0], "app2", "orders2", &err),
			 0);
	assert_string_equal(
	    buf_cstr(&c.sql),
	    "CREATE TABLE IF NOT EXISTS `app2`.`orders2` (\n"
	    "  `id` int(11) NOT NULL AUTO_INCREMENT,\n"
	    "  `buyer` int(11) NOT NULL,\n"
	    "  `amount` decimal(10,2) NOT NULL DEFAULT 0.00 COMMENT 'see `total`',\n"
	    "  `total_x2` decimal(11,2) GENERATED ALWAYS AS (`amount` * 2) STORED,\n"
	    "  `seq` int(11) DEFAULT nextval(`app2`.`s`),\n"
	    "  PRIMARY KEY (`id`,`amount`),\n"
	    "  KEY `buyer` (`buyer`),\n"
	    "  KEY `amount` (`amount`,`buyer`) COMMENT 'on `total`',\n"
	    "  CONSTRAINT `chk` CHECK (`amount` >= 0)\n"
	    ") ENGINE=InnoDB COMMENT='total' PARTITION BY RANGE (`amount`) (PARTITION "
	    "`total` VALUES LESS THAN (10),\n PARTITION p1 VALUES LESS THAN MAXVALUE)");
	assert_int_equal(c.nfks, 2);
	assert_string_equal(c.fks[0].name, "fk_c");
	assert_string_equal(c.fks[0].sql,
			    "CONSTRAINT `fk_c` FOREIGN KEY (`buyer`) REFERENCES `app2`.`clients` "
			    "(`cid`) ON DELETE CASCADE");
	assert_string_equal(c.fks[1].name, "fk_s");
	assert_string_equal(c.fks[1].sql,
			    "CONSTRAINT `fk_s` FOREIGN KEY (`id`) REFERENCES `shop`.`t` (`id`)");
	assert_int_equal(c.nskips, 2);
	assert_string_equal(c.skips[0].column, "note");
	assert_string_equal(c.skips[0].def, "FULLTEXT KEY `ft_note` (`note`)");
	assert_string_equal(c.skips[1].column, "note_len");
	assert_string_equal(
	    c.skips[1].def,
	    "CONSTRAINT `fk_n` FOREIGN KEY (`note_len`) REFERENCES `other`.`x` (`y`)");
	ddl_create_release(&c);
}

/* Names holding newlines, quotes and comment markers, in a subset. */
static void test_create_hostile_names(void **state)
{
	static char *cols[] = {"id", "c`d\n-- x"};
	static struct table_sel tsel = {"h", NULL, cols, 2, NULL, 0, NULL};
	static const char show[] =
	    "CREATE TABLE `h` (\n"
	    "  `id` int(11) NOT NULL,\n"
	    "  `a\nb, KEY z (id)) SELECT 1 #` int(11),\n"
	    "  `c``d\n-- x` int(11) DEFAULT 1,\n"
	    "  `g` int(11) AS (`a\nb, KEY z (id)) SELECT 1 #` + 1) VIRTUAL,\n"
	    "  PRIMARY KEY (`id`),\n"
	    "  KEY `k\n/*` (`c``d\n-- x`,`a\nb, KEY z (id)) SELECT 1 #`)\n"
	    ") ENGINE=InnoDB";
	struct ddl_create c;
	struct gw_err err = GW_ERR_INIT;

	(void)state;
	assert_int_equal(
	    ddl_create_table(&c, show, strlen(show), &spec, "shop", "h", &tsel, "shop", "h", &err),
	    0);
	assert_string_equal(buf_cstr(&c.sql), "CREATE TABLE IF NOT EXISTS `shop`.`h` (\n"
					      "  `id` int(11) NOT NULL,\n"
					      "  `c``d\n-- x` int(11) DEFAULT 1,\n"
					      "  PRIMARY KEY (`id`)\n"
					      ") ENGINE=InnoDB");
	assert_int_equal(c.nskips, 1);
	assert_string_equal(c.skips[0].column, "a\nb, KEY z (id)) SELECT 1 #");
	ddl_create_release(&c);
}

/* MySQL 8's SHOW CREATE TABLE: versioned comments (INVISIBLE, NOT
 * ENFORCED, the partitioning), a functional key part. */
static void test_create_mysql8(void **state)
{
	static char *cols[] = {"id", "d", "j"};
	static struct column_rename ren[] = {{"d", "day"}};
	static struct table_sel tsel = {"m", NULL, cols, 3, ren, 1, NULL};
	static const char show[] =
	    "CREATE TABLE `m` (\n"
	    "  `id` int NOT NULL AUTO_INCREMENT,\n"
	    "  `d` date NOT NULL,\n"
	    "  `h` int DEFAULT NULL /*!80023 INVISIBLE */,\n"
	    "  `j` json DEFAULT NULL,\n"
	    "  PRIMARY KEY (`id`,`d`),\n"
	    "  KEY `fj` ((cast(json_unquote(json_extract(`j`,_utf8mb4'$.a')) as char(10) charset "
	    "utf8mb4))),\n"
	    "  KEY `hk` (`h`) /*!80000 INVISIBLE */,\n"
	    "  CONSTRAINT `c` CHECK ((`id` > 0)) /*!80016 NOT ENFORCED */\n"
	    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci\n"
	    "/*!50100 PARTITION BY RANGE (year(`d`))\n"
	    "(PARTITION p0 VALUES LESS THAN (2020) ENGINE = InnoDB,\n"
	    " PARTITION p1 VALUES LESS THAN MAXVALUE ENGINE = InnoDB) */";
	struct ddl_create c;
	struct gw_err err = GW_ERR_INIT;

	(void)state;
	assert_int_equal(
	    ddl_create_table(&c, show, strlen(show), &spec, "app", "m", &tsel, "app2", "m", &err),
	    0);
	assert_string_equal(
	    buf_cstr(&c.sql),
	    "CREATE TABLE IF NOT EXISTS `app2`.`m` (\n"
	    "  `id` int NOT NULL AUTO_INCREMENT,\n"
	    "  `day` date NOT NULL,\n"
	    "  `j` json DEFAULT NULL,\n"
	    "  PRIMARY KEY (`id`,`day`),\n"
	    "  KEY `fj` ((cast(json_unquote(json_extract(`j`,_utf8mb4'$.a')) as char(10) charset "
	    "utf8mb4))),\n"
	    "  CONSTRAINT `c` CHECK ((`id` > 0)) /*!80016 NOT ENFORCED */\n"
	    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci\n"
	    "/*!50100 PARTITION BY RANGE (year(`day`))\n"
	    "(PARTITION p0 VALUES LESS THAN (2020) ENGINE = InnoDB,\n"
	    " PARTITION p1 VALUES LESS THAN MAXVALUE ENGINE = InnoDB) */");
	assert_int_equal(c.nskips, 1);
	assert_string_equal(c.skips[0].def, "KEY `hk` (`h`) /*!80000 INVISIBLE */");
	ddl_create_release(&c);
}

static void create_fails(const char *show, const struct table_sel *tsel, const char *want)
{
	struct ddl_create c;
	struct gw_err err = GW_ERR_INIT;

	assert_int_equal(ddl_create_table(&c, show, strlen(show), &spec, "app", "orders", tsel,
					  "app2", "orders2", &err),
			 GW_EFATAL);
	if (!strstr(err.msg, want))
		fail_msg("'%s' does not say '%s'", err.msg, want);
	assert_non_null(strstr(err.msg, "table app.orders"));
	assert_int_equal(c.sql.len, 0);
}

static void test_create_refused(void **state)
{
	static char *cols[] = {"id"};
	static struct table_sel tsel = {"orders", NULL, cols, 1, NULL, 0, NULL};

	(void)state;
	create_fails("CREATE TABLE `t` (`id` int", NULL, "not closed");
	create_fails("CREATE TABLE `t` (`id` int) ; DROP TABLE x", NULL,
		     "unexpected table options");
	create_fails("CREATE TABLE `t` (`id` int) SELECT 1", NULL, "unexpected table options");
	create_fails("CREATE TABLE `t` (`id` int) COMMENT 'x", NULL, "unexpected table options");
	create_fails("CREATE TABLE `t` (`id` int, 'x' int)", NULL, "does not start with a name");
	create_fails("CREATE TABLE `t` (`id` int,, `b` int)", NULL, "empty definition");
	create_fails("CREATE VIEW `v` AS SELECT 1", NULL, "not a CREATE TABLE");
	create_fails("CREATE TABLE `t` (`id` int, `d` date) PARTITION BY RANGE (year(`d`)) "
		     "(PARTITION p VALUES LESS THAN MAXVALUE)",
		     &tsel, "partitioned by column d");
	create_fails("CREATE TABLE `t` (`id` /*!80023 int, `x` */ int)", NULL, "versioned comment");
}

static void test_defs_split(void **state)
{
	static const char stored[] = "KEY `a\nKEY ``b`` (x)` (`c`)\n"
				     "FULLTEXT KEY `f` (`t`) COMMENT 'a\nb'\n\n"
				     "SPATIAL INDEX `s` (`p`)";
	struct ddl_defs d;
	struct gw_err err = GW_ERR_INIT;

	(void)state;
	assert_int_equal(ddl_defs_split(&d, stored, strlen(stored), &err), 0);
	assert_int_equal(d.n, 3);
	assert_int_equal(d.v[0].kind, DDL_DEF_INDEX);
	assert_string_equal(d.v[0].name, "a\nKEY `b` (x)");
	assert_int_equal(d.v[0].off, 0);
	assert_int_equal(d.v[0].len, 27);
	assert_int_equal(d.v[1].kind, DDL_DEF_FULLTEXT);
	assert_string_equal(d.v[1].name, "f");
	assert_int_equal(d.v[1].len, strlen("FULLTEXT KEY `f` (`t`) COMMENT 'a\nb'"));
	assert_int_equal(d.v[2].kind, DDL_DEF_SPATIAL);
	ddl_defs_release(&d);
	assert_int_equal(ddl_table_defs(&d, orders, strlen(orders), &err), 0);
	assert_int_equal(d.n, 15);
	assert_int_equal(d.v[0].kind, DDL_DEF_COLUMN);
	assert_string_equal(d.v[0].name, "id");
	assert_int_equal(d.v[7].kind, DDL_DEF_PRIMARY);
	assert_null(d.v[7].name);
	assert_int_equal(d.v[8].kind, DDL_DEF_INDEX);
	assert_string_equal(d.v[8].name, "customer_id");
	assert_int_equal(d.v[11].kind, DDL_DEF_FOREIGN);
	assert_string_equal(d.v[11].name, "fk_c");
	assert_int_equal(d.v[14].kind, DDL_DEF_CHECK);
	assert_string_equal(d.v[14].name, "chk");
	assert_memory_equal(orders + d.tail, " ENGINE=InnoDB", 14);
	ddl_defs_release(&d);
	assert_int_equal(ddl_defs_split(&d, "KEY `a` (`b`))", 14, &err), GW_EFATAL);
}

static void test_headers(void **state)
{
	static const char view[] = "CREATE ALGORITHM=UNDEFINED DEFINER=`u``x`@`h%` SQL SECURITY "
				   "DEFINER VIEW `v` AS select 'DEFINER=`a`@`b`' AS `c`";
	static const char event[] = "CREATE DEFINER='r'@'l' EVENT `e` ON SCHEDULE EVERY 1 DAY ON "
				    "COMPLETION NOT PRESERVE DISABLE DO INSERT INTO t VALUES "
				    "(' PRESERVE ENABLE')";
	static const char event2[] = "CREATE DEFINER=`root`@`localhost` EVENT `e` ON SCHEDULE "
				     "EVERY 1 DAY ON COMPLETION PRESERVE ENABLE COMMENT 'DO' DO "
				     "SELECT 1";
	static const char proc[] = "CREATE PROCEDURE `p`() SELECT 'DEFINER=`a`@`b`'";
	struct ddl_definer d;
	struct buf b = BUF_INIT;
	bool found;
	size_t off, len;

	(void)state;
	assert_int_equal(ddl_find_definer(&found, &d, view, strlen(view), 0), 0);
	assert_true(found);
	assert_string_equal(buf_cstr(&d.user), "u`x");
	assert_string_equal(buf_cstr(&d.host), "h%");
	assert_memory_equal(view + d.off, "DEFINER=`u``x`@`h%` ", d.len + 1);
	assert_int_equal(buf_add(&b, view, strlen(view)), 0);
	assert_int_equal(ddl_splice(&b, d.off, d.len, "DEFINER=CURRENT_USER"), 0);
	ddl_definer_release(&d);
	assert_true(ddl_header_word(&off, &len, b.ptr, b.len, 0, "SQL SECURITY DEFINER", "VIEW"));
	assert_int_equal(ddl_splice(&b, off, len, "INVOKER"), 0);
	assert_string_equal(buf_cstr(&b), "CREATE ALGORITHM=UNDEFINED DEFINER=CURRENT_USER SQL "
					  "SECURITY INVOKER VIEW `v` AS select 'DEFINER=`a`@`b`' "
					  "AS `c`");
	assert_false(ddl_header_word(&off, &len, b.ptr, b.len, 0, "SQL SECURITY DEFINER", "VIEW"));
	assert_int_equal(ddl_splice(&b, b.len, 1, "x"), GW_EFATAL);
	buf_release(&b);

	assert_int_equal(ddl_find_definer(&found, &d, event, strlen(event), 0), 0);
	assert_true(found);
	assert_string_equal(buf_cstr(&d.user), "r");
	assert_string_equal(buf_cstr(&d.host), "l");
	ddl_definer_release(&d);
	assert_false(ddl_header_word(&off, &len, event, strlen(event), 0, "PRESERVE ENABLE", "DO"));
	assert_true(
	    ddl_header_word(&off, &len, event2, strlen(event2), 0, "PRESERVE ENABLE", "DO"));
	assert_memory_equal(event2 + off, "ENABLE COMMENT", 14);
	assert_int_equal(len, 6);

	assert_int_equal(ddl_find_definer(&found, &d, proc, strlen(proc), 0), 0);
	assert_false(found);
	ddl_definer_release(&d);
}

static void test_create_database(void **state)
{
	static const char show[] = "CREATE DATABASE `shop` /*!40100 DEFAULT CHARACTER SET utf8mb4 "
				   "*/ COMMENT 'the `shop`'";
	struct buf b = BUF_INIT;
	struct gw_err err = GW_ERR_INIT;

	(void)state;
	assert_int_equal(ddl_create_database(&b, show, strlen(show), "st`ore", &err), 0);
	assert_string_equal(buf_cstr(&b),
			    "CREATE DATABASE IF NOT EXISTS `st``ore` /*!40100 DEFAULT "
			    "CHARACTER SET utf8mb4 */ COMMENT 'the `shop`'");
	buf_reset(&b);
	assert_int_equal(
	    ddl_create_database(&b, "CREATE DATABASE `a`; DROP DATABASE b", 36, "x", &err),
	    GW_EFATAL);
	assert_int_equal(ddl_create_database(&b, "CREATE TABLE t", 14, "x", &err), GW_EFATAL);
	buf_release(&b);
}

/* Every statement of a binlog file, decoded, appended to out (NUL-ended
 * each); the number of statements. */
static size_t binlog_statements(struct buf *out, const char *file)
{
	struct binlog_decoder *d = binlog_decoder_new();
	struct binlog_event ev;
	struct gw_err err = GW_ERR_INIT;
	gzFile f = gzopen(file, "rb");
	uint8_t h[19], *b = NULL;
	size_t n = 0;

	if (!f)
		fail_msg("%s: cannot open (the shared data sets are beside the repository)", file);
	assert_non_null(d);
	assert_int_equal(gzread(f, h, 4), 4);
	while (gzread(f, h, 19) == 19) {
		size_t size =
		    (size_t)h[9] | (size_t)h[10] << 8 | (size_t)h[11] << 16 | (size_t)h[12] << 24;
		assert_true(size >= 19);
		assert_non_null(b = realloc(b, size));
		memcpy(b, h, 19);
		assert_int_equal(gzread(f, b + 19, (unsigned)(size - 19)), (int)(size - 19));
		assert_int_equal(binlog_decode(d, b, size, &ev, &err), 0);
		if (ev.kind == BK_QUERY && ev.sql) {
			assert_int_equal(buf_add(out, ev.sql, ev.sql_len), 0);
			assert_int_equal(buf_putc(out, '\0'), 0);
			n++;
		}
	}
	free(b);
	gzclose(f);
	binlog_decoder_free(d);
	return n;
}

/* The DDL MySQL 5.5 wrote loading sakila (a real binlog): tables, views,
 * the schema; triggers and routines are not the applier's. */
static void test_parse_mysql_binlog(void **state)
{
	const char *dir = getenv("GW_SHARED");
	struct buf file = BUF_INIT, stmts = BUF_INIT, tables = BUF_INIT;
	size_t n, i, other = 0, dbs = 0;
	const char *p;

	(void)state;
	assert_int_equal(buf_printf(&file,
				    "%s/datasets/mysql-binlogs/"
				    "mysql-5.5.27-sakila-load.binlog.gz",
				    dir ? dir : "../shared"),
			 0);
	if (!dir && access(buf_cstr(&file), R_OK)) {
		buf_reset(&file);
		assert_int_equal(buf_puts(&file, "/work/shared/datasets/mysql-binlogs/"
						 "mysql-5.5.27-sakila-load.binlog.gz"),
				 0);
	}
	n = binlog_statements(&stmts, buf_cstr(&file));
	for (i = 0, p = stmts.ptr; i < n; i++, p += strlen(p) + 1) {
		struct ddl_stmt d;
		const struct ddl_table *t;
		if (!ddl_parse(&d, p, strlen(p), 0)) {
			if (!strncmp(p, "CREATE", 6))
				other++;
			continue;
		}
		assert_false(d.renames_table);
		if (d.on_database) {
			assert_string_equal(d.db, "sakila");
			dbs++;
			continue;
		}
		assert_int_equal(d.verb, DDL_CREATE);
		assert_int_equal(d.ntables, 1);
		t = &d.tables[0];
		assert_string_equal(t->db, "");
		/* the name's bytes, quoted or not */
		assert_memory_equal(p + t->start + (p[t->start] == '`'), t->table,
				    strlen(t->table));
		assert_int_equal(t->end - t->start, strlen(t->table) + 2 * (p[t->start] == '`'));
		assert_int_equal(buf_printf(&tables, "%s%s", tables.len ? " " : "", t->table), 0);
		ddl_stmt_release(&d);
	}
	assert_string_equal(buf_cstr(&tables),
			    "actor address category city country customer film film_actor "
			    "film_category film_text inventory language payment rental staff store "
			    "customer_list film_list nicer_but_slower_film_list staff_list "
			    "sales_by_store sales_by_film_category actor_info");
	assert_int_equal(dbs, 2);    /* DROP SCHEMA IF EXISTS, CREATE SCHEMA */
	assert_int_equal(other, 12); /* 6 triggers, 3 procedures, 3 functions */
	buf_release(&file);
	buf_release(&stmts);
	buf_release(&tables);
}

/* XA statements as MySQL logs them (X'..' parts) and as users write them
 * ('..' strings, a comment in between): one canonical XID. */
static void test_xa(void **state)
{
	static const struct {
		const char *sql;
		enum ddl_xa verb;
		const char *xid; /* NULL: refused */
	} cases[] = {
	    {"XA START X'7831',X'',1", DDL_XA_START, "X'7831',X'',1"},
	    {"XA BEGIN 'x1'", DDL_XA_START, "X'7831',X'',1"},
	    {"xa commit 'x1', 'b' , 3", DDL_XA_COMMIT, "X'7831',X'62',3"},
	    {"XA /* c */ COMMIT x'4A4b',0x0c,7", DDL_XA_COMMIT, "X'4a4b',X'0c',7"},
	    {"XA ROLLBACK 'it''s'", DDL_XA_ROLLBACK, "X'69742773',X'',1"},
	    {"XA COMMIT 'a\\'b'", DDL_XA_COMMIT, "X'612762',X'',1"},
	    {"XA END X'7831',X'',1", DDL_XA_END, ""},
	    {"XA PREPARE X'7831',X'',1", DDL_XA_PREPARE, ""},
	    {"XA RECOVER", DDL_XA_OTHER, ""},
	    {"COMMIT", DDL_XA_NONE, ""},
	    {"/* XA COMMIT 'x' */ INSERT INTO t VALUES (1)", DDL_XA_NONE, ""},
	    {"XA COMMIT 1", DDL_XA_COMMIT, NULL},
	    {"XA COMMIT 'x', 'y', 1.5", DDL_XA_COMMIT, NULL},
	    {"XA COMMIT X'123'", DDL_XA_COMMIT, NULL},
	    {"XA COMMIT '0123456789012345678901234567890123456789012345678901234567890123456789'",
	     DDL_XA_COMMIT, NULL},
	};
	struct buf xid = BUF_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		enum ddl_xa verb;
		int r = ddl_xa(&verb, &xid, cases[i].sql, strlen(cases[i].sql), 0);

		if (verb != cases[i].verb)
			fail_msg("%s: verb %d, want %d", cases[i].sql, verb, cases[i].verb);
		if (!cases[i].xid) {
			if (r != GW_EFATAL)
				fail_msg("%s: accepted as %s", cases[i].sql, buf_cstr(&xid));
			continue;
		}
		if (r != 0 || strcmp(buf_cstr(&xid), cases[i].xid))
			fail_msg("%s: %d '%s', want '%s'", cases[i].sql, r, buf_cstr(&xid),
				 cases[i].xid);
	}
	buf_release(&xid);
}

static void test_ends_group(void **state)
{
	static const struct {
		const char *sql;
		bool ends;
	} cases[] = {
	    {"BEGIN", false},
	    {"/*!80000 BEGIN */", false},
	    {"SAVEPOINT s1", false},
	    {"ROLLBACK TO s1", false},
	    {"ROLLBACK TO SAVEPOINT s1", false},
	    {"RELEASE SAVEPOINT s1", false},
	    {"START TRANSACTION", false},
	    {"XA START X'31',X'',1", false},
	    {"XA END X'31',X'',1", false},
	    {"XA PREPARE X'31',X'',1", true},
	    {"XA COMMIT X'31',X'',1", true},
	    {"COMMIT", true},
	    {"ROLLBACK", true},
	    {"CREATE TABLE t (a INT)", true},
	    {"# BEGIN\nCOMMIT", true},
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++)
		if (ddl_ends_group(cases[i].sql, strlen(cases[i].sql), 0) != cases[i].ends)
			fail_msg("%s: ends the group is not %d", cases[i].sql, cases[i].ends);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mode_flags),
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_parse_lists),
	    cmocka_unit_test(test_parse_dml),
	    cmocka_unit_test(test_mode_bits),
	    cmocka_unit_test(test_plan),
	    cmocka_unit_test(test_map_databases),
	    cmocka_unit_test(test_db_in_strings),
	    cmocka_unit_test(test_create_attack),
	    cmocka_unit_test(test_create_subset),
	    cmocka_unit_test(test_create_hostile_names),
	    cmocka_unit_test(test_create_refused),
	    cmocka_unit_test(test_defs_split),
	    cmocka_unit_test(test_headers),
	    cmocka_unit_test(test_create_database),
	    cmocka_unit_test(test_create_mysql8),
	    cmocka_unit_test(test_parse_mysql_binlog),
	    cmocka_unit_test(test_xa),
	    cmocka_unit_test(test_ends_group),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
