/* Replays a fuzz target's corpus: every file named on the command line, or
 * every file in a directory named there, is fed to LLVMFuzzerTestOneInput
 * once. ctest runs this for each target, so the corpus is a regression
 * suite on every build; with clang and ASSAY_FUZZ=ON the same target links
 * against libFuzzer instead for real fuzzing. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
    FILE *fp = fopen(path, "rb");
    unsigned char *buf;
    long n;

    if (fp == NULL) {
        fprintf(stderr, "fuzz replay: cannot open %s\n", path);
        return 1;
    }
    fseek(fp, 0, SEEK_END);
    n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    buf = malloc(n > 0 ? (size_t)n : 1);
    if (buf == NULL || fread(buf, 1, (size_t)n, fp) != (size_t)n) {
        fclose(fp);
        free(buf);
        return 1;
    }
    fclose(fp);
    LLVMFuzzerTestOneInput(buf, (size_t)n);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    int i, files = 0, rc = 0;

    for (i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            DIR *d = opendir(argv[i]);
            struct dirent *e;
            while (d && (e = readdir(d)) != NULL) {
                char path[4096];
                if (e->d_name[0] == '.')
                    continue;
                snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name);
                rc |= replay_file(path);
                files++;
            }
            if (d)
                closedir(d);
        } else {
            rc |= replay_file(argv[i]);
            files++;
        }
    }
    printf("replayed %d inputs\n", files);
    printf("%d passed, %d failed\n", rc ? 0 : 1, rc ? 1 : 0);
    return rc;
}
