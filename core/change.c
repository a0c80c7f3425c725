/* core/change.c — vectors and stamps (see change.h). */
#include <stdlib.h>
#include <string.h>

#include "change.h"
#include "error.h"

void
vector_init(struct vector *v)
{
	v->n = 0;
	v->e = NULL;
}

void
vector_release(struct vector *v)
{
	if (v == NULL)
		return;
	free(v->e);
	vector_init(v);
}

uint64_t
vector_get(const struct vector *v, const uint8_t origin[SITE_ID_LEN])
{
	size_t i;

	for (i = 0; i < v->n; i++)
		if (memcmp(v->e[i].origin, origin, SITE_ID_LEN) == 0)
			return v->e[i].counter;
	return 0;
}

int
vector_set(struct vector *v, const uint8_t origin[SITE_ID_LEN],
    uint64_t counter)
{
	struct vec_entry *ne;
	size_t i;

	for (i = 0; i < v->n; i++) {
		if (memcmp(v->e[i].origin, origin, SITE_ID_LEN) == 0) {
			v->e[i].counter = counter;
			return 0;
		}
	}
	if ((ne = realloc(v->e, (v->n + 1) * sizeof(*ne))) == NULL)
		return MULE_ENOMEM;
	v->e = ne;
	memcpy(v->e[v->n].origin, origin, SITE_ID_LEN);
	v->e[v->n].counter = counter;
	v->n++;
	return 0;
}

int
vector_copy(struct vector *dst, const struct vector *src)
{
	struct vec_entry *ne = NULL;

	if (src->n > 0) {
		if ((ne = malloc(src->n * sizeof(*ne))) == NULL)
			return MULE_ENOMEM;
		memcpy(ne, src->e, src->n * sizeof(*ne));
	}
	vector_release(dst);
	dst->e = ne;
	dst->n = src->n;
	return 0;
}

int
vector_covers(const struct vector *a, const struct vector *b)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		if (vector_get(a, b->e[i].origin) < b->e[i].counter)
			return 0;
	return 1;
}

int
stamp_cmp(const struct stamp *a, const struct stamp *b)
{
	if (a->lamport != b->lamport)
		return a->lamport < b->lamport ? -1 : 1;
	return memcmp(a->origin, b->origin, SITE_ID_LEN);
}
