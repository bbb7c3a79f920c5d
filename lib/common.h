/* Included first by every godwit .c file. */
#ifndef GODWIT_COMMON_H
#define GODWIT_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GODWIT_VERSION "0.1.0"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define WARN_UNUSED __attribute__((warn_unused_result))
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))

#endif
