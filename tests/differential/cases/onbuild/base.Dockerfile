FROM dockyard-test/busybox
RUN echo base > /base.txt
ONBUILD COPY trigger.txt /onbuild/
ONBUILD RUN echo ran > /onbuild/ran.txt
ONBUILD ENV TRIGGERED=yes
