/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <check.h>

/* One Check suite per concern; test-main.c runs them all. */
Suite *suite_parse(void);
Suite *suite_name(void);
Suite *suite_options(void);
Suite *suite_tables(void);
Suite *suite_sync(void);
Suite *suite_init_detect(void);
Suite *suite_path(void);
Suite *suite_environ(void);
Suite *suite_limits(void);
Suite *suite_host_limits(void);
Suite *suite_registry(void);
Suite *suite_devices(void);
Suite *suite_process(void);
Suite *suite_cgroup_limits(void);
Suite *suite_control(void);
Suite *suite_escape(void);
Suite *suite_image_choose(void);
Suite *suite_store(void);
Suite *suite_settings(void);
Suite *suite_transfer(void);
Suite *suite_create_guest(void);

/* A fresh temporary directory for a test; removed by rm_rf_tmp(). */
char *make_tmp_dir(void);
void rm_rf_tmp(char *dir);
/* Create a file (and its parents) below dir with mode. */
void make_file(const char *dir, const char *rel, mode_t mode);
void make_symlink(const char *dir, const char *rel, const char *target);
