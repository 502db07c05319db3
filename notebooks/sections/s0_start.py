"""The title and the set-up cell."""


def cells(md, code):
    return [
        md("""
        # 12장. 생성 모델(Generative Model): genlab으로 따라 하기

        이 노트북은 12장의 절을 순서대로 따라갑니다. 프로그램마다 먼저 **이 장의 신경망을 Keras 3 함수형 API로
        직접 적고** `model.summary()`로 구조를 확인한 뒤, 같은 신경망을 genlab으로 학습해 결과 그림을 바로 아래에
        보여 줍니다. 인쇄된 코드가 Keras 3에서 어디서 멈추는지, 가장 작은 수정은 무엇인지도 프로그램마다 상자로
        정리했습니다. 각 절은 **직접 해 보기**로 끝납니다.

        | 절 | 내용 | 이 장의 프로그램 |
        |---|---|---|
        | 1 | 생성 모델과 분류 모델, 함수형 API | 프로그램 1: MNIST 분류 모델 |
        | 2 | 오토인코더, 노이즈 제거 오토인코더 | 프로그램 2, 3 |
        | 3 | GAN: 목적 함수, Keras 3의 `trainable` 함정과 그 수정 | 프로그램 4 |
        | 4 | 심화(선택): 평가 지표, VAE, 조건부 GAN, 확산 모델 | 이 장 너머 |

        설치 방법(Linux, macOS, Windows, Colab)은 저장소의 `docs/notebooks.ko.md`에 있습니다. 저장소 폴더에서
        `pip install -e ".[cpu,notebook]" jupyterlab`을 한 번 실행한 뒤 `jupyter lab notebooks/chapter12.ipynb`로 엽니다.
        """, """
        # Chapter 12. Generative models, with genlab

        This notebook follows the chapter's sections in order. For each program it first **writes the
        chapter's network out with the Keras 3 functional API** and checks it with `model.summary()`, then
        trains the same network with genlab and shows the figures right below. A box per program says where
        the printed code stops on Keras 3 and what the smallest fix is. Each section ends with **Try it**.

        | section | what | the chapter's program |
        |---|---|---|
        | 1 | generative and discriminative models, the functional API | program 1: the MNIST classifier |
        | 2 | autoencoders, denoising autoencoders | programs 2, 3 |
        | 3 | GANs: the objective, Keras 3's `trainable` trap and its fix | program 4 |
        | 4 | advanced (optional): evaluation numbers, VAE, conditional GAN, diffusion | beyond the chapter |

        How to install (Linux, macOS, Windows, Colab): `docs/notebooks.md` in the repository. Once, from
        the repository's folder, `pip install -e ".[cpu,notebook]" jupyterlab`, then
        `jupyter lab notebooks/chapter12.en.ipynb`.
        """),
        md("""
        ## 0. 준비

        아래 셀이 이 노트북에 필요한 준비의 전부입니다. `QUICK = True`(기본값)이면 신경망, 손실 함수, 옵티마이저는
        이 장과 똑같고 학습 길이만 `genlab run chapter --quick`과 같은 예산으로 줄여, 노트북 컴퓨터의 CPU(코어 2개)에서 전체가
        20분 안쪽에 끝납니다. `QUICK = False`로 바꾸면 이 장의 설정 그대로(분류 모델 2 에포크, 오토인코더 50 에포크,
        GAN 2000 스텝) 학습하고 평가에 샘플 10,000장을 씁니다. CPU에서 40분쯤 걸립니다.

        `notebook.start`는 Keras 백엔드를 고르고(기본값 TensorFlow), MNIST를 불러오고, 학습 예산을 정하고, 이
        노트북의 실행 폴더(run folder) `notebook-runs/<날짜>-<시각>`을 만듭니다. 인터넷에 연결되어 있지 않고
        컴퓨터에 MNIST도 없으면 genlab에 내장된 `mnist-5k`(실제 MNIST 숫자 5,000장: 훈련 4,000장, 테스트 1,000장)를
        쓰고 경고 한 줄로 알려 줍니다. 궁금하면 `genlab/notebook.py`를 읽어 보세요. 160줄 남짓입니다.
        """, """
        ## 0. Setup

        The cell below is all the set-up this notebook needs. With `QUICK = True` (the default) the networks,
        losses and optimizers are the chapter's, and only the training lengths are cut to the budgets of
        `genlab run chapter --quick`: the whole notebook takes under 20 minutes on a 2-core laptop CPU. With
        `QUICK = False` everything trains with the chapter's settings (2 classifier epochs, 50 autoencoder
        epochs, 2000 GAN steps) and the evaluation uses 10,000 samples: about 40 minutes on a CPU.

        `notebook.start` picks the Keras backend (TensorFlow by default), loads MNIST, sizes the budgets and
        names this notebook's run folder, `notebook-runs/<date>-<time>`. Offline, with no MNIST on the
        machine, it uses genlab's embedded `mnist-5k` (5,000 real MNIST digits: 4,000 for training, 1,000
        for testing) and says so in one warning line. Curious? `genlab/notebook.py` is about 160 lines.
        """),
        code("""
        QUICK = True   # @ko True: 빠른 설정(20분 안쪽). False: 이 장의 설정 그대로(CPU에서 40분쯤) @en True: quick settings (under 20 minutes). False: the chapter's settings (about 40 minutes on a CPU)

        import numpy as np
        import matplotlib.pyplot as plt

        import genlab
        from genlab import notebook, plotting

        lab = notebook.start(quick=QUICK, language="«ko|en»")   # @ko 백엔드, 데이터, 학습 예산, 실행 폴더 @en backend, data, training budgets, run folder

        import keras              # @ko genlab이 백엔드를 고른 다음에 가져옵니다 @en imported once genlab has chosen the backend
        from keras import layers

        x_train, x_test = lab.x_train, lab.x_test   # @ko float32, (N, 28, 28, 1), [0, 1] 범위 @en float32, (N, 28, 28, 1), in [0, 1]
        show = lab.show                             # @ko genlab이 저장한 그림(PNG)을 보여 줍니다 @en shows a figure (PNG) that genlab wrote
        """),
    ]
