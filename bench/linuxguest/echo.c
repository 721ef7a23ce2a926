/*
 * echo.c: the Linux guest's TCP echo server (RFC 862) on port 7, the
 * counterpart of mirago's app/echo in the image benchmark: a thread per
 * connection copying what it reads back, half-closing at EOF (as
 * app/echo does), built static for armhf by build.sh.
 */
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void *serve(void *arg)
{
	enum { bufSize = 64 * 1024 };
	int fd = (int)(long)arg;
	char *buf = malloc(bufSize);
	if (buf == NULL)
		goto out;
	for (;;) {
		ssize_t n = read(fd, buf, bufSize);
		if (n <= 0) {
			if (n == 0)
				shutdown(fd, SHUT_WR);
			break;
		}
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(fd, buf + off, n - off);
			if (w <= 0)
				goto out;
			off += w;
		}
	}
out:
	free(buf);
	close(fd);
	return NULL;
}

int main(void)
{
	int one = 1;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(7)};
	int l = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0 || setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 128) < 0) {
		perror("echo: listen on port 7");
		return 1;
	}
	printf("linuxguest: echo serving on port 7\n");
	fflush(stdout);
	pthread_attr_t at;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&at, 64 * 1024);
	for (;;) {
		int c = accept(l, NULL, NULL);
		if (c < 0)
			continue;
		pthread_t t;
		if (pthread_create(&t, &at, serve, (void *)(long)c) != 0)
			close(c);
	}
}
